// The open room's messages on screen: kept in seq order, each id and seq shown once, our unacknowledged
// messages after them, and the scroll position managed (stay at the bottom, keep place on prepend).

import { decorate, undecorate } from "./dividers.js";
import { fillMessage, messageItem, pendingItem, setPendingState } from "./messages.js";

const NEAR = 80;

export class Timeline {
  constructor({ list, scroller, jump, me }) {
    Object.assign(this, { list, scroller, jump, me });
    this.context = { me, original: (id) => this.messages.get(id) };
    this.unseen = 0;
    this.unreadAfter = null;
    this.atStart = false;
    this.reset();
    scroller.addEventListener("scroll", () => {
      if (this.nearBottom()) this.hideJump();
    });
    jump.addEventListener("click", () => {
      this.scrollToBottom();
      this.list.lastElementChild?.focus?.();
    });
  }

  reset() {
    this.byId = new Map(); // id -> element
    this.messages = new Map(); // id -> message
    this.bySeq = new Map(); // seq -> id
    this.pending = new Map(); // client_id -> element
    this.stored = new Set(); // client_ids of our messages on screen
    this.first = null;
    this.last = 0;
    this.unreadAfter = null;
    this.atStart = false;
    this.list.replaceChildren();
    this.hideJump();
  }

  get firstSeq() {
    return this.first;
  }

  get lastSeq() {
    return this.last;
  }

  get size() {
    return this.byId.size;
  }

  nearBottom() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < NEAR;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.hideJump();
  }

  hideJump() {
    this.unseen = 0;
    this.jump.hidden = true;
  }

  /** Where the reader left off (the room's last_read_seq when opened), for the "New messages" line. */
  setUnreadAfter(seq) {
    this.unreadAfter = seq;
    this.redecorate();
  }

  setAtStart(atStart) {
    this.atStart = atStart;
    this.redecorate();
  }

  redecorate() {
    return decorate(this.list, { unreadAfter: this.unreadAfter, me: this.me.id, atStart: this.atStart });
  }

  /** Insert in seq order, then put the dividers and grouping back. */
  insertAll(messages) {
    undecorate(this.list);
    const added = messages.filter((message) => this.insert(message));
    this.redecorate();
    return added;
  }

  /** The last message of ours that can still be edited (ArrowUp in an empty composer). */
  lastOwn() {
    const own = [...this.messages.values()].filter((message) => message.sender && message.sender.id === this.me.id && !message.deleted);
    return own.sort((a, b) => b.seq - a.seq)[0] || null;
  }

  /** Older messages (a history page): inserted above, keeping what the reader sees in place. */
  addOlder(messages) {
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    const added = this.insertAll(messages);
    this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    return added;
  }

  /** Newer messages (live, history replay, resync pages). Returns those not shown before. */
  addNewer(messages, { follow = false } = {}) {
    const stick = follow || this.nearBottom();
    const added = this.insertAll(messages);
    if (!added.length) return added;
    const ours = added.some((message) => message.sender && message.sender.id === this.me.id);
    if (stick || ours) {
      this.scrollToBottom();
    } else {
      this.unseen += added.length;
      this.jump.textContent = `${this.unseen} new message${this.unseen === 1 ? "" : "s"} ↓`;
      this.jump.hidden = false;
    }
    return added;
  }

  insert(message) {
    if (this.byId.has(message.id) || this.bySeq.has(message.seq)) {
      if (this.byId.has(message.id)) this.update(message);
      return false;
    }
    this.resolvePending(message);
    this.messages.set(message.id, message);
    const item = messageItem(message, this.context);
    this.list.insertBefore(item, this.placeFor(message.seq));
    this.byId.set(message.id, item);
    this.bySeq.set(message.seq, message.id);
    this.first = this.first === null ? message.seq : Math.min(this.first, message.seq);
    this.last = Math.max(this.last, message.seq);
    return true;
  }

  /** The element a message with this seq goes before (pending items always stay last). */
  placeFor(seq) {
    let node = this.list.firstElementChild;
    while (node && node.classList.contains("divider")) node = node.nextElementSibling;
    if (seq > this.last) {
      if (!this.pending.size) return null;
      while (node && !node.classList.contains("pending")) node = node.nextElementSibling;
      return node;
    }
    while (node && !node.classList.contains("pending") && Number(node.dataset.seq) < seq) node = node.nextElementSibling;
    return node;
  }

  update(message) {
    const item = this.byId.get(message.id);
    if (!item) return;
    this.messages.set(message.id, message);
    fillMessage(item, message, this.context);
    // Replies quote what they answer: they follow an edit or a deletion of it.
    for (const reply of this.messages.values()) {
      if (reply.reply_to === message.id && !item.querySelector(".edit-form")) fillMessage(this.byId.get(reply.id), reply, this.context);
    }
    this.redecorate();
  }

  markDeleted(id) {
    const message = this.messages.get(id);
    if (message) this.update({ ...message, deleted: true, content: "", html: "", attachments: [] });
  }

  // --- our messages before the server has them ---------------------------------------------------

  addPending(entry, { onRetry, onDiscard }) {
    if (this.pending.has(entry.client_id)) return;
    const item = pendingItem(entry, this.me, onRetry, onDiscard);
    undecorate(this.list);
    this.pending.set(entry.client_id, item);
    this.list.append(item);
    this.redecorate();
    this.scrollToBottom();
  }

  pendingState(clientId, state, error) {
    const item = this.pending.get(clientId);
    if (item) setPendingState(item, state, error);
  }

  removePending(clientId) {
    this.pending.get(clientId)?.remove();
    this.pending.delete(clientId);
  }

  resolvePending(message) {
    if (message.client_id && message.sender && message.sender.id === this.me.id) {
      this.stored.add(message.client_id);
      this.removePending(message.client_id);
    }
  }

  /** True when our message with this client_id is already on screen as a stored message. */
  shows(clientId) {
    return this.stored.has(clientId);
  }
}
