// Rooms beyond the open one: private rooms (a choice in the "New room" dialog), browsing and joining
// public rooms, group direct messages, leaving, and rooms created, renamed or deleted by others arriving
// live on the personal socket (room_created / room_updated / room_deleted).

import { all, del, get, post } from "./api.js";
import { $, announce, displayName, errorText, h } from "./dom.js";
import { roomHref, roomLabel } from "./sidebar.js";
import { icon, makeDialog } from "./ui.js";

const PLUS = "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z";
const LIST = "M4 5h16v2H4zm0 6h16v2H4zm0 6h10v2H4z";

export class Rooms {
  constructor(app) {
    this.app = app;
    this.addPrivateChoice();
    this.browse = makeDialog("browse-dialog", "Public rooms", { wide: true });
    this.group = makeDialog("group-dialog", "New conversation");
    $("new-room-button").after(h("button", { type: "button", id: "browse-rooms-button", class: "icon-button small", title: "Browse public rooms",
      "aria-haspopup": "dialog", onclick: () => this.showBrowse() }, icon(LIST), h("span", { class: "visually-hidden" }, "Browse public rooms")));
    const dmHead = $("dm-heading");
    const head = h("div", { class: "section-head" });
    dmHead.replaceWith(head);
    head.append(dmHead, h("button", { type: "button", id: "new-group-button", class: "icon-button small", title: "New group conversation",
      "aria-haspopup": "dialog", onclick: () => this.showGroup() }, icon(PLUS), h("span", { class: "visually-hidden" }, "New group conversation")));
    this.setupGroup();
  }

  /** "Private" in the New room dialog (sidebar.js sends the kind this checkbox chooses). */
  addPrivateChoice() {
    $("new-room-title").textContent = "New room";
    $("new-room-button").title = "New room";
    $("new-room-button").querySelector(".visually-hidden").textContent = "New room";
    $("new-room-error").before(h("label", { class: "check" }, h("input", { type: "checkbox", id: "new-room-private" }),
      " Private: only the people I add can find and read it"));
  }

  // --- live changes ---------------------------------------------------------------------------------

  personalFrame(frame) {
    const room = frame.room;
    if (!room || !["room_created", "room_updated", "room_deleted"].includes(frame.type)) return;
    if (frame.type === "room_created") this.created(room);
    else if (frame.type === "room_updated") this.updated(room);
    else {
      this.app.sidebar.removeRoom(room.slug);
      if (this.app.slug !== room.slug) announce(`The room ${roomLabel(room)} was deleted.`);
    }
  }

  async created(summary) {
    try {
      const room = await get(`/api/v1/rooms/${encodeURIComponent(summary.slug)}/`);
      const known = this.app.sidebar.room(room.slug);
      this.app.sidebar.addRoom(room);
      if (!known) announce(`New ${room.kind === "direct" ? "conversation" : "room"}: ${roomLabel(room)}.`);
    } catch {
      // gone again, or not ours after all
    }
  }

  updated(summary) {
    const { direct_members: _members, ...fields } = summary;
    const room = this.app.sidebar.room(summary.slug);
    if (!room) {
      this.created(summary);
      return;
    }
    this.app.sidebar.addRoom({ ...room, ...fields });
    if (this.app.slug === summary.slug) this.showHeader();
  }

  /** The open room's title, topic and archived state in the header. */
  showHeader() {
    const room = this.app.sidebar.room(this.app.slug);
    if (!room) return;
    $("room-title").textContent = roomLabel(room);
    $("room-topic").textContent = room.archived ? `Archived (read only)${room.topic ? ` · ${room.topic}` : ""}` : room.topic || "";
    this.app.composer.setRoomLabel(roomLabel(room));
    $("conversation").dataset.archived = String(Boolean(room.archived));
  }

  // --- browse and join --------------------------------------------------------------------------------

  async showBrowse() {
    const { dialog, body } = this.browse;
    body.replaceChildren(h("p", { class: "empty" }, "Loading…"));
    dialog.showModal();
    try {
      const rooms = (await all("/api/v1/rooms/?page_size=100")).filter((room) => room.kind === "public");
      body.replaceChildren(h("ul", { class: "result-list browse-list", "aria-label": "Public rooms" }, rooms.map((room) => h("li", { class: "browse-room" },
        h("span", { class: "browse-name" }, h("strong", {}, roomLabel(room)), room.archived ? h("span", { class: "tag" }, "archived") : "",
          room.topic ? h("span", { class: "muted" }, ` ${room.topic}`) : ""),
        room.is_member
          ? h("a", { href: roomHref(room.slug), onclick: () => dialog.close() }, "Open")
          : h("button", { type: "button", class: "primary", onclick: () => this.join(room.slug) }, `Join ${roomLabel(room)}`)))));
    } catch (error) {
      body.replaceChildren(h("p", { class: "form-error" }, errorText(error.body, error.message)));
    }
  }

  async join(slug) {
    try {
      await post(`/api/v1/rooms/${encodeURIComponent(slug)}/members/`, {});
      const room = await get(`/api/v1/rooms/${encodeURIComponent(slug)}/`);
      this.app.sidebar.addRoom(room);
      this.browse.dialog.close();
      announce(`Joined ${roomLabel(room)}.`);
      location.hash = roomHref(slug);
    } catch (error) {
      this.browse.body.prepend(h("p", { class: "form-error", role: "alert" }, errorText(error.body, error.message)));
    }
  }

  async leave(slug) {
    const room = this.app.sidebar.room(slug);
    await del(`/api/v1/rooms/${encodeURIComponent(slug)}/members/me/`);
    if (room?.kind === "public") this.app.sidebar.addRoom({ ...room, is_member: false, role: null });
    else this.app.sidebar.removeRoom(slug);
    announce(`You left ${room ? roomLabel(room) : slug}.`);
    if (this.app.slug === slug) location.hash = roomHref("general");
  }

  // --- group direct messages --------------------------------------------------------------------------

  setupGroup() {
    const { body } = this.group;
    this.chosen = new Map();
    this.groupSearch = h("input", { id: "group-search", type: "search", autocomplete: "off" });
    this.groupResults = h("ul", { class: "people group-results", "aria-label": "People found" });
    this.groupChosen = h("ul", { class: "chips", "aria-label": "People in the conversation", "aria-live": "polite" });
    this.groupError = h("p", { class: "form-error", role: "alert" });
    let timer = null;
    this.groupSearch.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.findPeople(), 250);
    });
    body.append(h("form", { class: "stack", onsubmit: (event) => this.createGroup(event) },
      h("p", { class: "help" }, "A direct conversation with up to 8 people."),
      h("label", { for: "group-search" }, "Add people by name or username"), this.groupSearch, this.groupResults,
      this.groupChosen, this.groupError,
      h("div", { class: "dialog-actions" }, h("button", { type: "submit", class: "primary" }, "Start conversation"))));
  }

  showGroup() {
    this.chosen.clear();
    this.renderChosen();
    this.groupSearch.value = "";
    this.groupResults.replaceChildren();
    this.groupError.textContent = "";
    this.group.dialog.showModal();
    this.groupSearch.focus();
  }

  async findPeople() {
    const query = this.groupSearch.value.trim();
    if (!query) {
      this.groupResults.replaceChildren();
      return;
    }
    try {
      const page = await get(`/api/v1/users/?search=${encodeURIComponent(query)}&page_size=10`);
      const people = page.results.filter((user) => user.id !== this.app.me.id);
      this.groupResults.replaceChildren(...people.map((user) => h("li", {}, h("button", { type: "button", class: "link-button",
        onclick: () => this.choose(user) }, `Add ${displayName(user)} (@${user.username})`))));
      if (!people.length) this.groupResults.append(h("li", { class: "empty" }, "Nobody by that name."));
    } catch (error) {
      this.groupError.textContent = errorText(error.body, error.message);
    }
  }

  choose(user) {
    if (this.chosen.size >= 8) {
      this.groupError.textContent = "At most 8 other people.";
      return;
    }
    this.chosen.set(user.id, user);
    this.renderChosen();
    this.groupSearch.focus();
    this.groupSearch.select();
  }

  renderChosen() {
    this.groupChosen.replaceChildren(...[...this.chosen.values()].map((user) => h("li", { class: "chip" }, displayName(user), " ",
      h("button", { type: "button", class: "link-button", "aria-label": `Remove ${displayName(user)}`, onclick: () => {
        this.chosen.delete(user.id);
        this.renderChosen();
      } }, "×"))));
  }

  async createGroup(event) {
    event.preventDefault();
    if (!this.chosen.size) {
      this.groupError.textContent = "Add at least one person.";
      return;
    }
    try {
      const room = await post("/api/v1/rooms/direct/", { users: [...this.chosen.keys()] });
      this.app.sidebar.addRoom(room);
      this.group.dialog.close();
      location.hash = roomHref(room.slug);
    } catch (error) {
      this.groupError.textContent = errorText(error.body, error.message);
    }
  }
}
