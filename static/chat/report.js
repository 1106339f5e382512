// Reporting a message: "Report" in the toolbar of someone else's message opens a dialog asking why
// (POST /api/v1/messages/{id}/reports/); the room's moderators get a `report` notification. The answer
// says plainly what happened, including "already reported" (409) and "too fast" (429).

import { post } from "./api.js";
import { displayName, errorText, h } from "./dom.js";
import { hooks } from "./hooks.js";
import { featureButton, makeDialog } from "./ui.js";

const MAX_REASON = 500;

/** What to tell the reporter when the server says no. */
export function reportError(error) {
  if (error.status === 409 || error.code === "already_reported") {
    return "You have already reported this message: the moderators have it.";
  }
  if (error.status === 429) {
    return `${errorText(error.body, "You are reporting messages too fast.")} Wait a few minutes, then try again.`;
  }
  return `Could not send the report: ${errorText(error.body, error.message)}`;
}

export class Report {
  constructor(app) {
    this.app = app;
    this.message = null;
    const { dialog, body } = makeDialog("report-dialog", "Report this message");
    this.dialog = dialog;
    this.excerpt = h("blockquote", { id: "report-excerpt", class: "confirm-text" });
    this.reason = h("textarea", { id: "report-reason", rows: 3, maxlength: MAX_REASON, "aria-required": "true", "aria-describedby": "report-help" });
    this.error = h("p", { id: "report-error", class: "form-error", role: "alert" });
    this.submit = h("button", { type: "submit", class: "primary" }, "Send report");
    body.append(h("form", { class: "stack", onsubmit: (event) => this.send(event) },
      this.excerpt,
      h("label", { for: "report-reason" }, "Why should the moderators look at it?"), this.reason,
      h("p", { id: "report-help", class: "help" }, `Only the room's moderators see your report (at most ${MAX_REASON} characters).`),
      this.error,
      h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"), this.submit)));
    dialog.addEventListener("close", () => this.closed());
    hooks.actions.push((message, mine) => (message.deleted || mine || !message.sender ? null
      : featureButton("report", `Report the message from ${displayName(message.sender)}`, "Report")));
  }

  click(button, message) {
    this.message = message;
    this.excerpt.textContent = `${displayName(message.sender)}: ${(message.content || "a message with files").slice(0, 200)}`;
    this.reason.value = "";
    this.error.textContent = "";
    this.submit.disabled = false;
    this.dialog.showModal();
    this.reason.focus();
  }

  async send(event) {
    event.preventDefault();
    const reason = this.reason.value.trim();
    if (!reason) {
      this.error.textContent = "Say why, in a few words.";
      this.reason.focus();
      return;
    }
    this.submit.disabled = true;
    try {
      await post(`/api/v1/messages/${this.message.id}/reports/`, { reason });
      this.dialog.close();
      this.app.notice("Thank you: the message was reported to the room's moderators.");
    } catch (error) {
      this.error.textContent = reportError(error);
      this.submit.disabled = false;
    }
  }

  closed() {
    if (this.message) this.app.timeline.byId.get(this.message.id)?.focus({ preventScroll: true });
    this.message = null;
  }
}
