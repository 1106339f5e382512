// What one can do with a message (the toolbar messages.js draws): reply, edit in place, delete after a
// confirmation, copy a link. ArrowUp in an empty composer edits one's last message.

import { del, patch } from "./api.js";
import { $, announce, displayName, errorText, h } from "./dom.js";

export class MessageActions {
  /** timeline: Timeline; room(): the open room's slug; focusComposer(). */
  constructor({ timeline, room, focusComposer }) {
    Object.assign(this, { timeline, room, focusComposer });
    this.replyTo = null;
    $("messages").addEventListener("click", (event) => this.click(event));
    $("reply-cancel").addEventListener("click", () => this.cancelReply({ focus: true }));
  }

  click(event) {
    const reference = event.target.closest(".reply-link");
    if (reference) {
      event.preventDefault();
      this.show(Number(reference.dataset.target));
      return;
    }
    const button = event.target.closest("button[data-action]");
    const item = button?.closest(".msg");
    const message = item && this.timeline.messages.get(Number(item.dataset.id));
    if (!message) return;
    const action = button.dataset.action;
    if (action === "reply") this.reply(message);
    else if (action === "edit") this.edit(message);
    else if (action === "delete") this.confirmDelete(message);
    else if (action === "link") this.copyLink(message);
  }

  /** Scroll to a message on screen and focus it (a reply's original, a link with a seq). */
  show(id) {
    const item = this.timeline.byId.get(id);
    if (!item) {
      announce("That message is not loaded: scroll up to see older messages.");
      return false;
    }
    item.scrollIntoView({ block: "center" });
    item.classList.add("highlight");
    setTimeout(() => item.classList.remove("highlight"), 2000);
    item.focus({ preventScroll: true });
    return true;
  }

  // --- reply ----------------------------------------------------------------------------------------

  reply(message) {
    this.replyTo = message.id;
    $("reply-text").textContent = `Replying to ${displayName(message.sender)}: ${(message.content || "a file").slice(0, 80)}`;
    $("reply-bar").hidden = false;
    this.focusComposer();
  }

  /** The message the next send replies to (then forgotten). */
  takeReply() {
    const id = this.replyTo;
    this.cancelReply();
    return id;
  }

  cancelReply({ focus = false } = {}) {
    this.replyTo = null;
    $("reply-bar").hidden = true;
    if (focus) this.focusComposer();
  }

  // --- edit in place ----------------------------------------------------------------------------------

  editLast() {
    const message = this.timeline.lastOwn();
    if (!message) return false;
    this.edit(message);
    return true;
  }

  edit(message) {
    const item = this.timeline.byId.get(message.id);
    if (!item || item.querySelector(".edit-form")) return;
    const input = h("textarea", { class: "edit-input", rows: 2, "aria-label": "Edit message", "aria-describedby": `edit-help-${message.id}` });
    input.value = message.content;
    const error = h("p", { class: "form-error", role: "alert" });
    const cancel = () => {
      this.timeline.update(this.timeline.messages.get(message.id));
      this.timeline.byId.get(message.id)?.focus();
    };
    const form = h(
      "form",
      { class: "edit-form" },
      input,
      h("p", { class: "help", id: `edit-help-${message.id}` }, "Enter saves, Escape cancels, Shift+Enter adds a line."),
      error,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save"), h("button", { type: "button", onclick: cancel }, "Cancel")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save(message, input.value.trim(), error);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        cancel();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    const body = item.querySelector(".body");
    if (body) body.replaceWith(form);
    else item.querySelector(".msg-main").append(form);
    item.querySelector(".msg-actions")?.remove();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  async save(message, content, error) {
    if (content === message.content) {
      this.timeline.update(this.timeline.messages.get(message.id));
      this.focusComposer();
      return;
    }
    try {
      const updated = await patch(`/api/v1/messages/${message.id}/`, { content });
      this.timeline.update(updated);
      announce("Message edited.");
      this.focusComposer();
    } catch (failure) {
      error.textContent = errorText(failure.body, failure.message);
    }
  }

  // --- delete -----------------------------------------------------------------------------------------

  confirmDelete(message) {
    const dialog = $("confirm-dialog");
    $("confirm-text").textContent = (message.content || "A message with files").slice(0, 200);
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue === "delete") this.remove(message);
      else this.timeline.byId.get(message.id)?.focus();
    };
    dialog.showModal();
    $("confirm-cancel").focus();
  }

  async remove(message) {
    try {
      await del(`/api/v1/messages/${message.id}/`);
      this.timeline.markDeleted(message.id);
      announce("Message deleted.");
    } catch (failure) {
      announce(`Could not delete the message: ${errorText(failure.body, failure.message)}`);
    }
    this.focusComposer();
  }

  // --- link -------------------------------------------------------------------------------------------

  async copyLink(message) {
    const link = `${location.origin}${location.pathname}#/r/${encodeURIComponent(this.room())}/${message.seq}`;
    try {
      await navigator.clipboard.writeText(link);
      announce("Link copied.");
    } catch {
      announce(`Link: ${link}`);
    }
  }
}
