// Edit history: the "(edited)" marker becomes a button that shows a message's earlier texts (the server's
// sanitized html), oldest first, then the current one.

import { get } from "./api.js";
import { errorText, h } from "./dom.js";
import { hooks } from "./hooks.js";
import { messageBody } from "./messages.js";
import { makeDialog } from "./ui.js";

export class EditHistory {
  constructor(app, messages) {
    Object.assign(this, { app, messages });
    const { dialog, body } = makeDialog("history-dialog", "Edit history", { wide: true });
    Object.assign(this, { dialog, body });
    hooks.decorate.push((main, message) => {
      const marker = main.querySelector(".meta .edited");
      if (!marker || message.deleted) return;
      marker.replaceChildren(h("button", { type: "button", class: "link-button edited-button", dataset: { feature: "history" },
        title: `${marker.title}: show the earlier versions` }, " (edited)"));
    });
  }

  async click(button, message) {
    this.body.replaceChildren(h("p", { class: "empty" }, "Loading…"));
    this.dialog.showModal();
    try {
      const versions = await get(`/api/v1/messages/${message.id}/history/`);
      const when = (version, index) => (index === 0 ? "Original" : `Edited ${new Date(version.edited_at).toLocaleString()}`);
      const current = this.messages.get(message.id) || message;
      this.body.replaceChildren(h("ol", { class: "versions", "aria-label": "Versions, oldest first" },
        versions.map((version, index) => h("li", {}, h("p", { class: "meta" }, when(version, index)),
          messageBody({ ...version, attachments: [] }, this.app.me))),
        h("li", { class: "current" }, h("p", { class: "meta" }, `Now (edited ${new Date(current.edited_at).toLocaleString()})`),
          messageBody(current, this.app.me))));
    } catch (error) {
      this.body.replaceChildren(h("p", { class: "form-error" }, errorText(error.body, error.message)));
    }
  }
}
