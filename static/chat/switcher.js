// Keyboard ways between rooms: Ctrl+K (or Cmd+K) opens a room switcher (type to filter, arrows to
// choose, Enter to go), Alt+Up and Alt+Down go to the previous and next room of the side panel.

import { $, clear, h } from "./dom.js";
import { roomHref, roomLabel } from "./sidebar.js";

export class Switcher {
  /** rooms(): rooms in side-panel order; active(): the open room's slug. */
  constructor({ rooms, active }) {
    Object.assign(this, { rooms, active });
    this.dialog = $("switcher");
    this.input = $("switcher-input");
    this.index = 0;
    this.matches = [];
    this.input.addEventListener("input", () => this.filter());
    this.input.addEventListener("keydown", (event) => this.key(event));
    $("switcher-list").addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.go(this.matches[Number(option.dataset.index)]);
    });
    document.addEventListener("keydown", (event) => this.global(event));
  }

  global(event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      this.open();
    } else if (event.altKey && !event.ctrlKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      this.step(event.key === "ArrowUp" ? -1 : 1);
    }
  }

  step(delta) {
    const rooms = this.rooms();
    if (!rooms.length) return;
    const here = rooms.findIndex((room) => room.slug === this.active());
    const next = rooms[(here + delta + rooms.length) % rooms.length];
    location.hash = roomHref(next.slug);
  }

  open() {
    if (this.dialog.open) return;
    this.input.value = "";
    this.filter();
    this.dialog.showModal();
    this.input.focus();
  }

  filter() {
    const query = this.input.value.trim().toLowerCase().replace(/^[#@]/, "");
    this.matches = this.rooms().filter((room) => `${room.name} ${room.slug} ${roomLabel(room)}`.toLowerCase().includes(query)).slice(0, 20);
    this.index = 0;
    this.render();
  }

  render() {
    const list = clear($("switcher-list"));
    this.matches.forEach((room, index) => {
      const unread = room.unread && room.slug !== this.active() ? h("span", { class: "badge" }, String(room.unread)) : null;
      list.append(h("li", { role: "option", id: `switcher-${index}`, "aria-selected": String(index === this.index), dataset: { index } }, roomLabel(room), unread));
    });
    if (!this.matches.length) list.append(h("li", { class: "empty" }, "No room by that name."));
    if (this.matches.length) this.input.setAttribute("aria-activedescendant", `switcher-${this.index}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  key(event) {
    const count = this.matches.length;
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && count) {
      event.preventDefault();
      this.index = (this.index + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      this.render();
      $(`switcher-${this.index}`)?.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (count) this.go(this.matches[this.index]);
    }
  }

  go(room) {
    this.dialog.close();
    location.hash = roomHref(room.slug);
  }
}
