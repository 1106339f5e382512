// The notifications panel and its unread badge: the list from REST, new ones from the personal socket,
// read state shared by every device (notifications_read frames).

import { get, post } from "./api.js";
import { $, announce, clear, formatTime, h } from "./dom.js";
import { roomHref } from "./sidebar.js";

export class Notifications {
  /** onChange(): the unread notifications changed (the side panel counts mentions from them). */
  constructor({ panel, onChange = () => {} }) {
    this.panel = panel;
    this.onChange = onChange;
    this.items = new Map(); // id -> notification
    this.extraUnread = 0;
    $("notifications-read-all").addEventListener("click", () => this.markRead(null));
  }

  async load() {
    const [page, unread] = await Promise.all([
      get("/api/v1/notifications/?page_size=30"),
      get("/api/v1/notifications/?unread=1&page_size=1"),
    ]);
    this.items = new Map(page.results.map((item) => [item.id, item]));
    // Unread notifications older than the page shown still count in the badge.
    this.extraUnread = Math.max(0, unread.count - this.unreadShown());
    this.render();
  }

  unreadShown() {
    return [...this.items.values()].filter((item) => !item.read_at).length;
  }

  get unread() {
    return this.extraUnread + this.unreadShown();
  }

  /** A `notification` frame. */
  add(notification) {
    if (this.items.has(notification.id)) return;
    this.items.set(notification.id, notification);
    this.render();
    announce(`Notification: ${notification.title}`);
  }

  /** A `notifications_read` frame, or our own mark-read (ids, or null for all); idempotent. */
  read(ids) {
    const now = new Date().toISOString();
    for (const item of this.items.values()) {
      if (!item.read_at && (ids === null || ids.includes(item.id))) item.read_at = now;
    }
    if (ids === null) this.extraUnread = 0;
    this.render();
  }

  async markRead(ids) {
    try {
      await post("/api/v1/notifications/read/", ids === null ? { all: true } : { ids });
      this.read(ids); // other devices learn it from the notifications_read frame
    } catch {
      // The badge stays as it was; the next load corrects it.
    }
  }

  render() {
    const badge = $("notifications-badge");
    badge.hidden = this.unread === 0;
    badge.textContent = this.unread > 99 ? "99+" : String(this.unread);
    $("notifications-toggle").setAttribute("aria-label", this.unread ? `Notifications, ${this.unread} unread` : "Notifications");
    const list = clear($("notifications-list"));
    const items = [...this.items.values()].sort((a, b) => b.id - a.id);
    list.append(...items.map((item) => this.item(item)));
    $("notifications-empty").hidden = items.length > 0;
    this.onChange();
  }

  /** Unread mentions of ours in a room (for its badge in the side panel). */
  mentionsIn(slug) {
    return [...this.items.values()].filter((item) => !item.read_at && item.kind === "mention" && item.data?.room === slug).length;
  }

  /** Open a notification's room and mark it read (from the panel, or a desktop notification). */
  open(notification) {
    if (!notification.read_at) this.markRead([notification.id]);
    const { room, seq } = notification.data || {};
    // A report points at its message: the room opens there when the message is among the newest.
    if (room) location.hash = notification.kind === "report" && seq ? `${roomHref(room)}/${Number(seq)}` : roomHref(room);
    this.panel.close({ restoreFocus: false });
  }

  item(notification) {
    const title = h("span", { class: "title" }, notification.title);
    const time = h("time", { datetime: notification.created_at }, formatTime(notification.created_at));
    const body = notification.body ? h("span", { class: "body" }, notification.body) : null;
    const unread = notification.read_at ? null : h("span", { class: "visually-hidden" }, "Unread: ");
    const open = () => this.open(notification);
    return h(
      "li",
      { class: notification.read_at ? "notification" : "notification unread", dataset: { id: notification.id, kind: notification.kind } },
      h("button", { type: "button", class: "notification-button", onclick: open }, unread, title, body, time),
    );
  }
}
