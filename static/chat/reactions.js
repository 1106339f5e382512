// Reactions: the counts under a message (a button per emoji, pressed when one of them is ours), a small
// bundled emoji picker, and live counts from the room's `reaction` frames.

import { api } from "./api.js";
import { announce, errorText, h } from "./dom.js";
import { hooks } from "./hooks.js";
import { featureButton, makeDialog } from "./ui.js";

export const EMOJI = [
  ["👍", "thumbs up"], ["👎", "thumbs down"], ["😀", "grinning"], ["😂", "tears of joy"], ["😊", "smile"],
  ["😍", "heart eyes"], ["🤔", "thinking"], ["😮", "surprised"], ["😢", "sad"], ["😡", "angry"],
  ["🙏", "thanks"], ["👏", "clapping"], ["🙌", "raised hands"], ["💪", "strong"], ["👀", "eyes"],
  ["🎉", "party"], ["🚀", "rocket"], ["🔥", "fire"], ["✅", "done"], ["❌", "no"],
  ["❤️", "heart"], ["💯", "hundred"], ["⭐", "star"], ["☕", "coffee"], ["🍕", "pizza"],
  ["👋", "wave"], ["🤝", "handshake"], ["💡", "idea"], ["⚠️", "warning"], ["🐛", "bug"],
];

export class Reactions {
  constructor(app, messages) {
    Object.assign(this, { app, messages });
    this.target = null;
    const { dialog, body } = makeDialog("emoji-dialog", "Add a reaction");
    this.dialog = dialog;
    const grid = h("div", { class: "emoji-grid", role: "group", "aria-label": "Emoji" },
      EMOJI.map(([emoji, name]) => h("button", { type: "button", class: "emoji", title: name, "aria-label": name, dataset: { emoji },
        onclick: () => this.pick(emoji) }, emoji)));
    body.append(grid);
    // Arrow keys move between the emoji (the grid is one tab stop's worth of buttons, in rows).
    grid.addEventListener("keydown", (event) => {
      const buttons = [...grid.querySelectorAll("button")];
      const at = buttons.indexOf(document.activeElement);
      const columns = Math.max(1, Math.round(grid.clientWidth / buttons[0].offsetWidth));
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns }[event.key];
      if (at < 0 || !step) return;
      event.preventDefault();
      buttons[Math.min(buttons.length - 1, Math.max(0, at + step))].focus();
    });
    hooks.decorate.push((main, message, context) => this.decorate(main, message, context));
    hooks.actions.push((message) => (message.deleted ? null : featureButton("reactions", "Add a reaction", "React", { op: "pick" })));
    hooks.roomFrame.push((frame) => {
      if (frame.type === "reaction") this.frame(frame);
    });
  }

  decorate(main, message, context) {
    if (message.deleted || !message.reactions?.length) return;
    const list = h("ul", { class: "reactions", "aria-label": "Reactions" },
      message.reactions.map(({ emoji, count, user_ids: users }) => {
        const mine = users.includes(context.me.id);
        const label = `${emoji} ${count} ${count === 1 ? "reaction" : "reactions"}${mine ? ", including yours" : ""}`;
        return h("li", {}, h("button", { type: "button", class: mine ? "reaction mine" : "reaction", "aria-pressed": String(mine),
          "aria-label": label, title: label, dataset: { feature: "reactions", op: "toggle", emoji } },
          h("span", { "aria-hidden": "true" }, emoji), " ", h("span", { class: "count", "aria-hidden": "true" }, String(count))));
      }));
    main.append(list);
  }

  click(button, message) {
    if (button.dataset.op === "pick") {
      this.target = message.id;
      this.dialog.showModal();
      this.dialog.querySelector(".emoji").focus();
    } else if (button.dataset.op === "toggle") {
      const emoji = button.dataset.emoji;
      const mine = (message.reactions || []).some((r) => r.emoji === emoji && r.user_ids.includes(this.app.me.id));
      this.send(message.id, emoji, !mine);
    }
  }

  pick(emoji) {
    this.dialog.close();
    const message = this.messages.get(this.target);
    if (!message) return;
    const mine = (message.reactions || []).some((r) => r.emoji === emoji && r.user_ids.includes(this.app.me.id));
    if (!mine) this.send(message.id, emoji, true);
    this.app.timeline.byId.get(message.id)?.focus();
  }

  async send(id, emoji, added) {
    try {
      const reactions = await api(added ? "PUT" : "DELETE", `/api/v1/messages/${id}/reactions/${encodeURIComponent(emoji)}/`);
      this.messages.patch(id, { reactions });
      announce(added ? `Reacted with ${emoji}.` : `Removed your ${emoji}.`);
    } catch (error) {
      announce(`Could not react: ${errorText(error.body, error.message)}`);
    }
  }

  /** A `reaction` frame: one person added or removed one emoji; the counts are adjusted here. */
  frame({ message_id: id, emoji, user, added }) {
    const message = this.messages.get(id);
    if (!message) return;
    const reactions = (message.reactions || []).map((r) => ({ ...r, user_ids: [...r.user_ids] }));
    let entry = reactions.find((r) => r.emoji === emoji);
    if (added) {
      if (entry?.user_ids.includes(user.id)) return; // already counted (our own answer came first)
      if (!entry) reactions.push((entry = { emoji, count: 0, user_ids: [] }));
      entry.count += 1;
      if (entry.user_ids.length < 20) entry.user_ids.push(user.id);
    } else {
      if (!entry) return;
      const at = entry.user_ids.indexOf(user.id);
      if (at < 0 && entry.count <= entry.user_ids.length) return; // already removed
      if (at >= 0) entry.user_ids.splice(at, 1);
      entry.count -= 1;
    }
    this.messages.patch(id, { reactions: reactions.filter((r) => r.count > 0) });
  }
}
