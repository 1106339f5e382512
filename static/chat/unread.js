// Where the reader left off: the "New messages" line (dividers.js draws it from the room's
// last_read_seq), opening a room at that line when the unread part is longer than the screen, and the
// "Jump to first unread" button, which loads older pages until the line is on screen.

import { $, announce } from "./dom.js";

export class UnreadJump {
  /** timeline: Timeline; conversation(): the open Conversation. */
  constructor({ timeline, conversation }) {
    Object.assign(this, { timeline, conversation });
    this.button = $("jump-unread");
    this.pending = false; // unread messages above what is loaded
    this.button.addEventListener("click", () => this.jump());
    timeline.scroller.addEventListener("scroll", () => this.update());
  }

  /** A room opened: lastRead is its last_read_seq then, unread its unread count (0: no line). */
  opened(lastRead, unread) {
    const after = unread ? (lastRead ?? 0) : null;
    this.timeline.setUnreadAfter(after);
    const divider = $("unread-divider");
    this.pending = after !== null && !divider;
    if (divider) {
      const { scroller } = this.timeline;
      const fromBottom = scroller.scrollHeight - divider.offsetTop;
      if (fromBottom > scroller.clientHeight) scroller.scrollTop = divider.offsetTop - 8;
    }
    this.update();
  }

  closed() {
    this.pending = false;
    this.button.hidden = true;
  }

  /** The button shows while the line is above the screen or not loaded yet. */
  update() {
    const divider = $("unread-divider");
    if (divider) this.pending = false;
    const above = divider && divider.offsetTop + divider.offsetHeight < this.timeline.scroller.scrollTop;
    this.button.hidden = !(this.pending || above);
  }

  async jump() {
    const conversation = this.conversation();
    try {
      while (!$("unread-divider") && conversation?.hasOlder && !conversation.closed) await conversation.loadOlder();
    } catch {
      announce("Could not load older messages.");
      return;
    }
    const divider = $("unread-divider");
    this.pending = false;
    if (divider) {
      this.timeline.scroller.scrollTop = divider.offsetTop - 8;
      divider.focus({ preventScroll: true });
      announce("First unread message.");
    }
    this.update();
  }
}
