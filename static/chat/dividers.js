// What sits between the messages: a divider per day, the "New messages" line where the reader left off,
// and the grouping of consecutive messages by one person within a few minutes (one avatar and name for
// the group; screen readers still hear every author). Recomputed after each change of the list.

import { h } from "./dom.js";

const GROUP_MINUTES = 5;

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  const options = { weekday: "long", month: "long", day: "numeric" };
  if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
  return date.toLocaleDateString([], options);
}

/** Take the dividers out (before messages are inserted by seq). */
export function undecorate(list) {
  for (const divider of list.querySelectorAll(":scope > .divider")) divider.remove();
}

/**
 * Put the dividers back and mark grouped messages. unreadAfter: the reader's last_read_seq when the
 * room was opened (null: no divider); messages of our own never start the unread part; atStart: the
 * room's first message is loaded.
 */
export function decorate(list, { unreadAfter = null, me = null, atStart = false } = {}) {
  undecorate(list);
  let previous = null;
  let unreadPlaced = false;
  let readSeen = false;
  for (const item of [...list.children]) {
    if (!item.classList.contains("msg")) continue;
    const pending = item.classList.contains("pending");
    const when = pending ? new Date() : new Date(item.dataset.time);
    const day = when.toDateString();
    let breaks = false;
    if (!pending && (!previous || previous.day !== day)) {
      item.before(h("li", { class: "divider day-divider", role: "separator", "aria-label": dayLabel(when) }, h("span", {}, dayLabel(when))));
      breaks = true;
    }
    const seq = Number(item.dataset.seq);
    // Only after a message already read (or at the room's start): the unread part may begin above what is loaded.
    const before = readSeen || atStart;
    if (!pending && !unreadPlaced && before && unreadAfter !== null && seq > unreadAfter && item.dataset.sender !== String(me)) {
      item.before(h("li", { class: "divider unread-divider", id: "unread-divider", role: "separator", "aria-label": "New messages", tabindex: "-1" }, h("span", {}, "New messages")));
      unreadPlaced = true;
      breaks = true;
    }
    const grouped =
      !breaks && !pending && previous && !previous.pending && previous.sender && previous.sender === item.dataset.sender &&
      !item.classList.contains("deleted") && !previous.deleted && when - previous.when < GROUP_MINUTES * 60 * 1000;
    item.classList.toggle("grouped", Boolean(grouped));
    if (!pending && unreadAfter !== null && seq <= unreadAfter) readSeen = true;
    previous = { day, when, sender: item.dataset.sender, pending, deleted: item.classList.contains("deleted") };
  }
  return unreadPlaced;
}
