// The side panel: rooms and direct messages with unread counts, who is online, finding people, and
// creating a room. Rooms are links (#/r/<slug>), so the keyboard, history and reloads just work.

import { all, get, post } from "./api.js";
import { $, clear, displayName, errorText, h } from "./dom.js";

export const roomHref = (slug) => `#/r/${encodeURIComponent(slug)}`;

export function roomLabel(room) {
  if (room.kind === "direct") return `@${room.direct_peer || room.name}`;
  return `#${room.name || room.slug}`;
}

export class Sidebar {
  /** onDirect(user); mentions(slug): unread mentions of ours in a room (from the notifications). */
  constructor({ me, onDirect, mentions = () => 0 }) {
    this.me = me;
    this.onDirect = onDirect;
    this.mentions = mentions;
    this.rooms = new Map();
    this.online = new Map(); // user id -> {id, username, display_name}
    this.active = null;
    $("new-room-form").addEventListener("submit", (event) => this.createRoom(event));
    $("new-room-button").addEventListener("click", () => {
      $("new-room-error").textContent = "";
      $("new-room-dialog").showModal();
      $("new-room-name").focus();
    });
    $("new-room-cancel").addEventListener("click", () => $("new-room-dialog").close());
    let searchTimer = null;
    $("people-search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => this.searchPeople(), 250);
    });
    $("people-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.searchPeople();
    });
  }

  // --- rooms --------------------------------------------------------------------------------------

  async loadRooms() {
    const rooms = await all("/api/v1/rooms/?page_size=100");
    this.rooms = new Map(rooms.map((room) => [room.slug, room]));
    this.renderRooms();
  }

  room(slug) {
    return this.rooms.get(slug);
  }

  addRoom(room) {
    this.rooms.set(room.slug, { ...this.rooms.get(room.slug), ...room });
    this.renderRooms();
  }

  removeRoom(slug) {
    this.rooms.delete(slug);
    this.renderRooms();
  }

  setActive(slug) {
    this.active = slug;
    const room = this.rooms.get(slug);
    if (room) room.unread = 0;
    this.renderRooms();
  }

  /** An `unread` frame; an unknown room (a new direct message) reloads the list. */
  setUnread(slug, count) {
    const room = this.rooms.get(slug);
    if (!room) {
      this.loadRooms().catch(() => {});
      return;
    }
    room.unread = slug === this.active ? 0 : count;
    this.renderRooms();
  }

  /** Rooms in the side panel's order (rooms, then direct messages). */
  ordered() {
    const rooms = [...this.rooms.values()];
    return [...rooms.filter((room) => room.kind !== "direct"), ...rooms.filter((room) => room.kind === "direct")];
  }

  /** Remember how far we have read a room (the "New messages" line starts there next time). */
  setRead(slug, seq) {
    const room = this.rooms.get(slug);
    if (room) room.last_read_seq = Math.max(room.last_read_seq || 0, seq);
  }

  renderRooms() {
    const rooms = [...this.rooms.values()];
    clear($("room-list")).append(...rooms.filter((room) => room.kind !== "direct").map((room) => this.roomItem(room)));
    const direct = rooms.filter((room) => room.kind === "direct");
    clear($("dm-list")).append(...direct.map((room) => this.roomItem(room)));
    if (!direct.length) $("dm-list").append(h("li", { class: "empty" }, "None yet: pick someone below."));
    const total = rooms.reduce((sum, room) => sum + (room.slug === this.active ? 0 : room.unread || 0), 0);
    document.title = total ? `(${total}) Chat` : "Chat";
  }

  /** As Slack does: a room with anything unread is bold; the badge counts mentions (every message of
   * a direct conversation counts). */
  roomItem(room) {
    const unread = room.slug === this.active ? 0 : room.unread || 0;
    const mentions = room.kind === "direct" ? unread : unread && this.mentions(room.slug);
    const link = h(
      "a",
      { href: roomHref(room.slug), class: unread ? "room-link unread" : "room-link", dataset: { room: room.slug } },
      h("span", { class: "room-name" }, roomLabel(room)),
      room.kind === "private" ? h("span", { class: "tag" }, "private") : null,
      unread && !mentions ? h("span", { class: "visually-hidden" }, `, ${unread} unread`) : null,
      mentions
        ? h("span", { class: "badge" }, String(mentions),
          h("span", { class: "visually-hidden" }, room.kind === "direct" ? " unread" : ` mention${mentions === 1 ? "" : "s"}, ${unread} unread`))
        : null,
    );
    if (room.slug === this.active) link.setAttribute("aria-current", "page");
    return h("li", {}, link);
  }

  async createRoom(event) {
    event.preventDefault();
    const input = $("new-room-name");
    const name = input.value.trim();
    $("new-room-error").textContent = "";
    if (!name) return;
    try {
      const room = await post("/api/v1/rooms/", { name, kind: $("new-room-private")?.checked ? "private" : "public" });
      input.value = "";
      $("new-room-dialog").close();
      this.addRoom(room);
      location.hash = roomHref(room.slug);
    } catch (error) {
      $("new-room-error").textContent = errorText(error.body, error.message);
    }
  }

  // --- people -------------------------------------------------------------------------------------

  async loadOnline() {
    const users = await get("/api/v1/connected-users/");
    this.online = new Map(users.map((user) => [user.id, user]));
    this.renderOnline();
  }

  /** A `presence` frame: a user's first socket opened or last one closed. */
  presence({ user, status }) {
    if (status !== "online") {
      this.online.delete(user.id);
    } else if (!this.online.has(user.id)) {
      const known = user.id === this.me.id ? this.me : { display_name: "" };
      this.online.set(user.id, { ...user, display_name: known.display_name });
      if (user.id !== this.me.id) this.fillDisplayName(user.id);
    }
    this.renderOnline();
  }

  /** Presence frames carry the username only; the display name comes from the users API. */
  async fillDisplayName(id) {
    try {
      const user = await get(`/api/v1/users/${id}/`);
      const online = this.online.get(id);
      if (online && user.display_name) {
        online.display_name = user.display_name;
        this.renderOnline();
      }
    } catch {
      // the username is enough
    }
  }

  renderOnline() {
    const people = [...this.online.values()].sort((a, b) => a.username.localeCompare(b.username));
    $("online-count").textContent = `(${people.length})`;
    clear($("online-list")).append(...people.map((user) => this.personItem(user, true)));
  }

  personItem(user, online) {
    const name = displayName(user);
    const label = user.display_name ? `${name} (@${user.username})` : `@${user.username}`;
    const dot = online ? h("span", { class: "presence-dot", "aria-hidden": "true" }) : null;
    if (user.id === this.me.id) {
      return h("li", { class: "person self" }, dot, h("span", {}, label, " (you)"));
    }
    const button = h(
      "button",
      { type: "button", class: "person-button", dataset: { user: user.id }, onclick: () => this.onDirect(user) },
      dot,
      h("span", {}, label),
      h("span", { class: "visually-hidden" }, ": send a direct message"),
    );
    return h("li", { class: "person" }, button);
  }

  async searchPeople() {
    const query = $("people-search").value.trim();
    const results = $("people-results");
    if (!query) {
      clear(results);
      return;
    }
    try {
      const page = await get(`/api/v1/users/?search=${encodeURIComponent(query)}&page_size=10`);
      clear(results).append(...page.results.map((user) => this.personItem(user, this.online.has(user.id))));
      if (!page.results.length) results.append(h("li", { class: "empty" }, "Nobody by that name."));
    } catch (error) {
      clear(results).append(h("li", { class: "empty" }, errorText(error.body, error.message)));
    }
  }

  /** Users for @-completion: online people first, then a search. */
  async candidates(prefix) {
    const lower = prefix.toLowerCase();
    const matches = (user) => user.username.toLowerCase().startsWith(lower) || (user.display_name || "").toLowerCase().startsWith(lower);
    const found = new Map([...this.online.values()].filter(matches).map((user) => [user.id, user]));
    if (found.size < 6 && prefix) {
      try {
        const page = await get(`/api/v1/users/?search=${encodeURIComponent(prefix)}&page_size=8`);
        for (const user of page.results) if (!found.has(user.id)) found.set(user.id, user);
      } catch {
        // completion is a convenience: no suggestions then
      }
    }
    found.delete(this.me.id);
    return [...found.values()].slice(0, 6);
  }
}
