// Pins: pin or unpin a message from its toolbar, a "Pinned" mark on it, and the room's pins in a
// dialog opened from the top bar (click one to see it in the conversation). Live from the room's
// `message_pinned` / `message_unpinned` frames.

import { api, get } from "./api.js";
import { announce, displayName, errorText, formatTime, h } from "./dom.js";
import { hooks } from "./hooks.js";
import { jumpTo } from "./search.js";
import { featureButton, makeDialog, topbarButton } from "./ui.js";

const PIN = "M16 3v2h-1v6l3 3v2h-5v6h-2v-6H6v-2l3-3V5H8V3z";

export class Pins {
  constructor(app, messages) {
    Object.assign(this, { app, messages });
    const { dialog, body, heading } = makeDialog("pins-dialog", "Pinned messages", { wide: true });
    Object.assign(this, { dialog, body, heading });
    this.button = topbarButton("pins-button", "Pinned messages", PIN, () => this.show());
    hooks.decorate.push((main, message) => {
      if (message.pinned && !message.deleted) main.querySelector(".meta")?.append(" ", h("span", { class: "tag pinned-tag" }, "Pinned"));
    });
    hooks.actions.push((message) => (message.deleted ? null
      : featureButton("pins", message.pinned ? "Unpin this message" : "Pin this message", message.pinned ? "Unpin" : "Pin")));
    hooks.roomFrame.push((frame) => {
      if (frame.type !== "message_pinned" && frame.type !== "message_unpinned") return;
      this.messages.patch(frame.message_id, { pinned: frame.type === "message_pinned" });
      if (this.dialog.open) this.load();
    });
  }

  async click(button, message) {
    const pin = !message.pinned;
    try {
      const updated = await api(pin ? "PUT" : "DELETE", `/api/v1/messages/${message.id}/pin/`);
      this.messages.patch(message.id, { pinned: updated.pinned });
      announce(pin ? "Message pinned." : "Message unpinned.");
    } catch (error) {
      announce(`Could not ${pin ? "pin" : "unpin"} the message: ${errorText(error.body, error.message)}`);
    }
  }

  show() {
    this.heading.textContent = "Pinned messages";
    this.body.replaceChildren(h("p", { class: "empty" }, "Loading…"));
    this.dialog.showModal();
    this.load();
  }

  async load() {
    const slug = this.app.slug;
    try {
      const pins = await get(`/api/v1/rooms/${encodeURIComponent(slug)}/pins/`);
      if (!pins.length) {
        this.body.replaceChildren(h("p", { class: "empty" }, "Nothing is pinned in this room yet. Pin a message from its toolbar."));
        return;
      }
      this.body.replaceChildren(h("ul", { class: "result-list", "aria-label": "Pinned messages" }, pins.map((message) => h("li", {},
        h("button", { type: "button", class: "result", onclick: () => this.jump(slug, message) },
          h("span", { class: "meta" }, h("span", { class: "author" }, displayName(message.sender)), " ",
            h("time", { datetime: message.created_at }, formatTime(message.created_at))),
          h("span", { class: "excerpt" }, (message.content || "a file").slice(0, 300)))))));
    } catch (error) {
      this.body.replaceChildren(h("p", { class: "form-error" }, errorText(error.body, error.message)));
    }
  }

  jump(slug, message) {
    this.dialog.close();
    jumpTo(this.app, slug, message);
  }
}
