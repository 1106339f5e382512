// The message box: Enter sends, Shift+Enter adds a line, files upload as soon as they are picked (with
// progress) and go with the next message, and "@" offers people to mention.

import { upload } from "./api.js";
import { $, announce, clear, errorText, formatSize, h } from "./dom.js";

const MENTION_QUERY = /(?:^|[^\p{L}\p{N}_@])@([\p{L}\p{N}_.+-]{0,30})$/u;

export class Composer {
  /** onSend(content, files) ; onTyping() ; candidates(prefix) -> users ; limits from the page ;
   * onEditLast() -> true when ArrowUp in an empty box opened our last message for editing. */
  constructor({ limits, onSend, onTyping, candidates, onEditLast = () => false }) {
    Object.assign(this, { limits, onSend, onTyping, candidates, onEditLast });
    this.form = $("composer");
    this.input = $("composer-input");
    this.files = []; // {file, item, progress, state: uploading|done|failed, stored, request}
    this.mentions = { open: false, items: [], index: 0, query: null };
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => this.keydown(event));
    this.input.addEventListener("input", () => {
      this.resize();
      if (this.input.value.trim()) this.onTyping();
      this.updateMentions();
    });
    this.input.addEventListener("blur", () => setTimeout(() => this.closeMentions(), 150));
    $("file-input").addEventListener("change", (event) => {
      this.addFiles([...event.target.files]);
      event.target.value = "";
    });
    this.form.addEventListener("dragover", (event) => event.preventDefault());
    this.form.addEventListener("drop", (event) => {
      event.preventDefault();
      this.addFiles([...event.dataTransfer.files]);
    });
    this.input.addEventListener("paste", (event) => {
      const pasted = [...(event.clipboardData?.files || [])];
      if (pasted.length) {
        event.preventDefault();
        this.addFiles(pasted);
      }
    });
  }

  setRoomLabel(label) {
    this.input.placeholder = `Message ${label}`;
  }

  focus() {
    this.input.focus();
  }

  /** Say why our messages are refused in this room (muted, announcement room, archived), above the box;
   * "" clears it (a new room, or a new attempt). */
  restrict(text) {
    const box = $("composer-notice");
    box.textContent = text;
    box.hidden = !text;
    if (text) this.input.setAttribute("aria-describedby", "composer-notice composer-help");
    else this.input.setAttribute("aria-describedby", "composer-help");
  }

  resize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 200)}px`;
  }

  keydown(event) {
    if (this.mentions.open && this.mentionKey(event)) return;
    if (event.key === "ArrowUp" && !this.input.value && !event.altKey && !event.ctrlKey && this.onEditLast()) {
      event.preventDefault();
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    }
  }

  submit() {
    const content = this.input.value.trim();
    const files = this.files.filter((entry) => entry.state === "done").map((entry) => entry.stored);
    if (this.files.some((entry) => entry.state === "uploading")) {
      announce("Wait for the files to finish uploading.");
      return;
    }
    if (!content && !files.length) return;
    if (content.length > this.limits.max_message_length) {
      announce(`Messages are limited to ${this.limits.max_message_length} characters.`);
      return;
    }
    this.restrict("");
    this.onSend(content, files);
    this.input.value = "";
    this.resize();
    this.files = [];
    clear($("attachments"));
    this.updateSendState();
    this.closeMentions();
  }

  // --- files --------------------------------------------------------------------------------------

  addFiles(files) {
    for (const file of files) {
      if (this.files.length >= this.limits.max_upload_files) {
        announce(`At most ${this.limits.max_upload_files} files per message.`);
        break;
      }
      const entry = { file, state: "uploading", stored: null, request: null };
      const progress = h("progress", { max: 1, value: 0, "aria-label": `Uploading ${file.name}` });
      const status = h("span", { class: "file-status" }, formatSize(file.size));
      const remove = h("button", { type: "button", class: "link-button", onclick: () => this.removeFile(entry) },
        "Remove", h("span", { class: "visually-hidden" }, ` ${file.name}`));
      entry.item = h("li", { class: "attachment", dataset: { state: "uploading" } }, h("span", { class: "file-name" }, file.name), progress, status, remove);
      entry.progress = progress;
      entry.status = status;
      $("attachments").append(entry.item);
      this.files.push(entry);
      if (file.size > this.limits.max_upload_bytes) {
        this.fileFailed(entry, `Too large: the limit is ${formatSize(this.limits.max_upload_bytes)}.`);
        continue;
      }
      this.startUpload(entry);
    }
    this.updateSendState();
  }

  startUpload(entry) {
    entry.request = upload(entry.file, (fraction) => {
      entry.progress.value = fraction;
      entry.status.textContent = `${Math.round(fraction * 100)} %`;
    });
    entry.request.promise.then(
      (stored) => {
        entry.state = "done";
        entry.stored = stored;
        entry.item.dataset.state = "done";
        entry.progress.value = 1;
        entry.status.textContent = `ready (${formatSize(stored.size)})`;
        announce(`${entry.file.name} uploaded.`);
        this.updateSendState();
      },
      (error) => {
        if (error.code !== "aborted") this.fileFailed(entry, errorText(error.body, error.message));
      },
    );
  }

  fileFailed(entry, message) {
    entry.state = "failed";
    entry.item.dataset.state = "failed";
    entry.progress.remove();
    entry.status.textContent = message;
    entry.status.setAttribute("role", "alert");
    this.updateSendState();
  }

  removeFile(entry) {
    entry.request?.abort();
    entry.item.remove();
    this.files = this.files.filter((other) => other !== entry);
    this.updateSendState();
    this.input.focus();
  }

  updateSendState() {
    const uploading = this.files.some((entry) => entry.state === "uploading");
    $("send-button").disabled = uploading;
    $("send-button").textContent = uploading ? "Uploading…" : "Send";
  }

  // --- @mentions ----------------------------------------------------------------------------------

  async updateMentions() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const match = before.match(MENTION_QUERY);
    if (!match) {
      this.closeMentions();
      return;
    }
    const query = match[1];
    this.mentions.query = query;
    const users = await this.candidates(query);
    if (this.mentions.query !== query) return; // typed on meanwhile
    if (!users.length) {
      this.closeMentions();
      return;
    }
    this.mentions = { open: true, items: users, index: 0, query };
    this.renderMentions();
  }

  renderMentions() {
    const list = clear($("mention-list"));
    this.mentions.items.forEach((user, index) => {
      const option = h(
        "li",
        { role: "option", id: `mention-option-${index}`, "aria-selected": String(index === this.mentions.index), class: "mention-option" },
        h("span", { class: "mention-username" }, `@${user.username}`),
        user.display_name ? h("span", { class: "mention-name" }, ` ${user.display_name}`) : null,
      );
      option.addEventListener("mousedown", (event) => {
        event.preventDefault();
        this.chooseMention(user);
      });
      list.append(option);
    });
    list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", `mention-option-${this.mentions.index}`);
  }

  mentionKey(event) {
    const count = this.mentions.items.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.mentions.index = (this.mentions.index + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      this.renderMentions();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.chooseMention(this.mentions.items[this.mentions.index]);
    } else if (event.key === "Escape") {
      this.closeMentions();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  chooseMention(user) {
    const caret = this.input.selectionStart;
    const before = this.input.value.slice(0, caret).replace(/@[\p{L}\p{N}_.+-]*$/u, `@${user.username} `);
    this.input.value = before + this.input.value.slice(caret);
    this.input.setSelectionRange(before.length, before.length);
    this.closeMentions();
    this.input.focus();
  }

  closeMentions() {
    this.mentions = { open: false, items: [], index: 0, query: null };
    $("mention-list").hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }
}
