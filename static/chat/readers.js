// Read receipts: "Seen by" in a message's toolbar opens a small popover listing who has read it
// (GET /api/v1/messages/{id}/readers/: members whose read position is at or past it and who share read
// receipts). A native popover: Escape or a click elsewhere closes it, and focus goes back to the message.

import { get } from "./api.js";
import { displayName, errorText, h } from "./dom.js";
import { hooks } from "./hooks.js";
import { featureButton } from "./ui.js";

export class Readers {
  constructor(app) {
    this.app = app;
    this.message = null;
    this.title = h("h2", { id: "readers-title", class: "popover-title" }, "Seen by");
    this.body = h("div", { class: "popover-body", role: "status" });
    this.popover = h("div", { id: "readers-popover", class: "popover", popover: "auto", role: "dialog", tabindex: "-1",
      "aria-labelledby": "readers-title" }, this.title, this.body);
    this.popover.addEventListener("toggle", (event) => {
      if (event.newState === "closed") this.closed();
    });
    document.body.append(this.popover);
    hooks.actions.push((message) => (message.deleted ? null : featureButton("readers", "Who has seen this message", "Seen by")));
  }

  async click(button, message) {
    this.message = message;
    this.place(button);
    this.title.textContent = "Seen by";
    this.body.replaceChildren(h("p", { class: "empty" }, "Loading…"));
    if (!this.popover.matches(":popover-open")) this.popover.showPopover();
    this.popover.focus();
    try {
      const readers = await get(`/api/v1/messages/${message.id}/readers/`);
      if (this.message !== message) return;
      this.show(readers);
    } catch (error) {
      this.body.replaceChildren(h("p", { class: "form-error" }, errorText(error.body, error.message)));
    }
  }

  show(readers) {
    const me = this.app.me.id;
    const others = readers.filter((user) => user.id !== me);
    const sender = this.message.sender?.id;
    this.title.textContent = others.length ? `Seen by ${others.length}` : "Seen by";
    if (!others.length) {
      this.body.replaceChildren(h("p", { class: "empty" }, "Nobody else has read it yet (or they keep that to themselves)."));
      return;
    }
    this.body.replaceChildren(h("ul", { class: "readers", "aria-label": "Readers" }, others.map((user) =>
      h("li", {}, displayName(user), user.id === sender ? h("span", { class: "muted" }, " (wrote it)") : ""))));
  }

  /** Under the button that opened it, kept on screen. */
  place(button) {
    const rect = button.getBoundingClientRect();
    const width = Math.min(280, window.innerWidth - 16);
    this.popover.style.width = `${width}px`;
    this.popover.style.left = `${Math.max(8, Math.min(rect.right - width, window.innerWidth - width - 8))}px`;
    this.popover.style.top = `${Math.min(rect.bottom + 4, window.innerHeight - 160)}px`;
  }

  closed() {
    const message = this.message;
    this.message = null;
    // Focus was in the popover (or nowhere): back to the message it was about.
    if (message && (document.activeElement === document.body || this.popover.contains(document.activeElement))) {
      this.app.timeline.byId.get(message.id)?.focus({ preventScroll: true });
    }
  }
}
