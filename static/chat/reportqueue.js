// The moderators' reports queue: a top-bar button (shown to workspace admins and moderators and to the
// owners and moderators of a room) with a badge counting open reports, kept live by `report`
// notifications; its dialog lists them (GET /api/v1/reports/) with the message as its room shows it,
// "Show in the room" (history loaded around it) and Resolve / Dismiss (POST /api/v1/reports/{id}/resolve/).

import { get, post } from "./api.js";
import { announce, displayName, errorText, formatTime, h } from "./dom.js";
import { hooks } from "./hooks.js";
import { messageBody } from "./messages.js";
import { jumpTo } from "./search.js";
import { roomLabel } from "./sidebar.js";
import { makeDialog, topbarButton } from "./ui.js";

const FLAG = "M5 3h2v18H5zm3 1h10l-2 4 2 4H8z";
const STAFF_ROLES = new Set(["admin", "moderator"]);

export class ReportQueue {
  constructor(app) {
    this.app = app;
    this.count = null; // open reports, once loaded
    const { dialog, body, heading } = makeDialog("reports-dialog", "Reports", { wide: true });
    Object.assign(this, { dialog, body, heading });
    heading.tabIndex = -1; // focus lands there when the last report is settled
    this.status = h("p", { id: "reports-status", class: "help", role: "status" });
    this.list = h("ul", { class: "report-list", "aria-label": "Open reports" });
    body.append(this.status, this.list);
    this.button = topbarButton("reports-button", "Reports", FLAG, () => this.open());
    this.badge = h("span", { class: "badge", hidden: true });
    this.button.append(this.badge);
    this.button.setAttribute("aria-haspopup", "dialog");
    this.button.hidden = true;
    hooks.personalFrame.push((frame) => {
      if (frame.type === "notification" && frame.notification.kind === "report") this.reported(frame.notification);
    });
  }

  /** Whether we moderate anything: a workspace role, or owning or moderating a room. */
  moderates() {
    const { me, sidebar } = this.app;
    return Boolean(me.is_staff) || STAFF_ROLES.has(me.role) || sidebar.ordered().some((room) => room.role === "owner" || room.role === "moderator");
  }

  /** Show the button to moderators (rooms loaded, or a room opened): its count is loaded once. */
  refresh() {
    this.button.hidden = !this.moderates();
    if (!this.button.hidden && this.count === null) this.loadCount();
  }

  async loadCount() {
    try {
      const page = await get("/api/v1/reports/?status=open&page_size=1");
      this.setCount(page.count);
    } catch {
      // the badge stays as it was; the next report notification tries again
    }
  }

  setCount(count) {
    this.count = Math.max(0, count);
    this.badge.hidden = this.count === 0;
    this.badge.textContent = this.count > 99 ? "99+" : String(this.count);
    this.button.setAttribute("aria-label", this.count ? `Reports, ${this.count} open` : "Reports");
  }

  reported(notification) {
    this.button.hidden = false;
    announce(`New report: ${notification.title}`);
    if (this.dialog.open) this.load();
    else this.loadCount();
  }

  open() {
    this.list.replaceChildren();
    this.status.textContent = "Loading…";
    this.dialog.showModal();
    this.load();
  }

  async load() {
    try {
      const page = await get("/api/v1/reports/?status=open&page_size=50");
      this.setCount(page.count);
      this.list.replaceChildren(...page.results.map((report) => this.item(report)));
      this.status.textContent = page.count ? `${page.count} open ${page.count === 1 ? "report" : "reports"}.` : "No open reports.";
    } catch (error) {
      this.status.textContent = errorText(error.body, error.message);
    }
  }

  item(report) {
    const { message } = report;
    const room = this.app.sidebar.room(report.room);
    const where = room ? roomLabel(room) : `#${report.room}`;
    const body = message.deleted || message.content || message.html ? messageBody(message, this.app.me) : h("p", { class: "body" }, "A message with files");
    const headingId = `report-${report.id}-heading`;
    const actions = h("div", { class: "row report-actions" },
      h("button", { type: "button", onclick: () => this.show(report) }, "Show in the room"),
      h("button", { type: "button", class: "primary", onclick: (event) => this.settle(report, "resolved", event.currentTarget) }, "Resolve"),
      h("button", { type: "button", onclick: (event) => this.settle(report, "dismissed", event.currentTarget) }, "Dismiss"));
    return h("li", { class: "report", dataset: { id: report.id }, "aria-labelledby": headingId },
      h("h3", { id: headingId, class: "report-heading" }, `${where} · ${displayName(message.sender)}`,
        h("span", { class: "muted" }, ` · ${formatTime(message.created_at)}`)),
      h("blockquote", { class: "report-message" }, body),
      h("p", { class: "report-reason" }, h("strong", {}, "Reason: "), report.reason,
        h("span", { class: "muted" }, ` (reported by ${displayName(report.reporter)}, ${formatTime(report.created_at)})`)),
      actions);
  }

  show(report) {
    this.dialog.close();
    jumpTo(this.app, report.room, report.message);
  }

  async settle(report, status, button) {
    const item = button.closest(".report");
    for (const control of item.querySelectorAll("button")) control.disabled = true;
    try {
      await post(`/api/v1/reports/${report.id}/resolve/`, { status });
      const next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      this.setCount((this.count || 1) - 1);
      this.status.textContent = `Report ${status}. ${this.count ? `${this.count} open.` : "No open reports."}`;
      (next?.querySelector("button") || this.heading).focus();
    } catch (error) {
      for (const control of item.querySelectorAll("button")) control.disabled = false;
      this.status.textContent = errorText(error.body, error.message);
    }
  }
}
