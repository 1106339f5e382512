// A room's members in the room dialog: name, role and presence; owners (and administrators) change roles,
// managers (owners, moderators) add people to a private room or remove members, and moderators ban or
// mute them (moderation.js).

import { all, del, get, patch, post } from "./api.js";
import { announce, displayName, errorText, h } from "./dom.js";

const ROLES = ["owner", "moderator", "member"];

export class Members {
  constructor(app, moderation) {
    this.app = app;
    this.moderation = moderation;
  }

  section(room, rights) {
    const list = h("ul", { class: "member-list", "aria-label": "Members" }, h("li", { class: "empty" }, "Loading…"));
    const error = h("p", { class: "form-error", role: "alert" });
    const section = h("section", { class: "stack", "aria-labelledby": "room-members-heading" },
      h("h3", { id: "room-members-heading" }, "Members"), list, error);
    const slug = encodeURIComponent(room.slug);
    const load = async () => {
      try {
        const members = await all(`/api/v1/rooms/${slug}/members/?page_size=100`);
        list.replaceChildren(...members.map((member) => this.item(room, member, rights, load, error)));
        if (!members.length) list.append(h("li", { class: "empty" }, "Nobody has joined yet."));
      } catch (failure) {
        error.textContent = errorText(failure.body, failure.message);
      }
    };
    load();
    if (rights.manager && room.kind === "private") section.append(this.addForm(slug, load, error));
    return section;
  }

  item(room, { user, role }, rights, reload, error) {
    const online = this.app.sidebar.online.has(user.id) || user.id === this.app.me.id;
    const name = h("span", { class: "member-name" }, h("span", { class: online ? "presence online" : "presence", "aria-hidden": "true" }),
      displayName(user), h("span", { class: "muted" }, ` @${user.username}`), h("span", { class: "visually-hidden" }, online ? ", online" : ", offline"));
    const parts = [name];
    const act = (fn, done) => async () => {
      error.textContent = "";
      try {
        await fn();
        announce(done);
        reload();
      } catch (failure) {
        error.textContent = errorText(failure.body, failure.message);
      }
    };
    const path = `/api/v1/rooms/${encodeURIComponent(room.slug)}/members/${user.id}/`;
    if (rights.owner) {
      const select = h("select", { "aria-label": `Role of ${displayName(user)}` },
        ROLES.map((value) => h("option", { value, selected: value === role }, value)));
      select.addEventListener("change", act(() => patch(path, { role: select.value }), `${displayName(user)} is now ${select.value}.`));
      parts.push(select);
    } else {
      parts.push(h("span", { class: "tag" }, role));
    }
    const other = user.id !== this.app.me.id && room.kind !== "direct";
    if (rights.manager && other) {
      parts.push(h("button", { type: "button", class: "link-button", onclick: act(() => del(path), `${displayName(user)} removed.`) },
        `Remove ${displayName(user)}`));
    }
    if (rights.moderator && other) {
      const done = () => {
        reload();
        this.moderation.reloadSanctions?.();
      };
      parts.push(h("button", { type: "button", class: "link-button", "aria-haspopup": "dialog",
        onclick: () => this.moderation.open(room, user, done) }, `Ban or mute ${displayName(user)}`));
    }
    return h("li", { class: "member", dataset: { user: user.id } }, ...parts);
  }

  addForm(slug, reload, error) {
    const input = h("input", { id: "member-add-input", autocomplete: "off", placeholder: "username" });
    return h("form", { class: "inline-form", onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const name = input.value.trim().replace(/^@/, "");
      if (!name) return;
      try {
        const page = await get(`/api/v1/users/?search=${encodeURIComponent(name)}&page_size=20`);
        const user = page.results.find((candidate) => candidate.username.toLowerCase() === name.toLowerCase()) || (page.results.length === 1 ? page.results[0] : null);
        if (!user) throw new Error(`Nobody is called @${name}.`);
        await post(`/api/v1/rooms/${slug}/members/`, { user: user.id });
        input.value = "";
        announce(`${displayName(user)} added.`);
        reload();
      } catch (failure) {
        error.textContent = errorText(failure.body, failure.message);
      }
    } }, h("label", { for: "member-add-input" }, "Add someone (username)"), input, h("button", { type: "submit" }, "Add"));
  }
}
