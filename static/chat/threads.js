// Threads: a reply count on a thread's root message, and the thread in a side panel (the root and its
// replies, live, with a box to answer in the thread). Replies are ordinary messages with reply_to; the
// room's `message` frames bring them and `thread_updated` frames bring the root's new counters.

import { api, get, post } from "./api.js";
import { $, announce, displayName, errorText, formatTime, h } from "./dom.js";
import { hooks } from "./hooks.js";
import { messageBody } from "./messages.js";
import { featureButton, icon } from "./ui.js";

const PAGE = 200;

export class Threads {
  constructor(app, messages) {
    Object.assign(this, { app, messages });
    this.root = null; // the open thread's root id
    this.shown = new Set();
    this.list = h("ol", { class: "thread-list", "aria-label": "Thread messages" });
    this.title = h("h2", { id: "thread-title" }, "Thread");
    this.input = h("textarea", { id: "thread-input", rows: 2, "aria-label": "Reply in the thread" });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.form = h("form", { class: "thread-form", onsubmit: (event) => this.submit(event) }, this.input, this.error,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Reply")));
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.follow = h("button", { type: "button", id: "thread-follow", class: "link-button", "aria-pressed": "false", onclick: () => this.toggleFollow() }, "Follow");
    this.panel = h("aside", { id: "thread-panel", class: "side-panel", "aria-labelledby": "thread-title", tabindex: "-1", hidden: true },
      h("div", { class: "panel-head" }, this.title, this.follow,
        h("button", { type: "button", class: "icon-button", onclick: () => this.close() },
          icon("M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7l-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z"),
          h("span", { class: "visually-hidden" }, "Close the thread"))),
      h("div", { class: "thread-scroller" }, this.list), this.form);
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        this.close();
      }
    });
    $("app").append(this.panel);
    window.addEventListener("hashchange", () => {
      if (this.root !== null && !location.hash.startsWith(`#/r/${encodeURIComponent(this.app.slug)}`)) this.close({ focus: false });
    });
    hooks.decorate.push((main, message) => this.decorate(main, message));
    hooks.actions.push((message) => (message.deleted ? null : featureButton("threads", "Open the thread", "Thread")));
    hooks.roomFrame.push((frame) => this.frame(frame));
  }

  decorate(main, message) {
    if (!message.reply_count || message.thread_root) return;
    const count = message.reply_count;
    main.append(h("p", { class: "thread-summary" }, h("button", { type: "button", class: "link-button", dataset: { feature: "threads" } },
      `${count} ${count === 1 ? "reply" : "replies"}`),
    message.last_reply_at ? h("span", { class: "muted" }, ` · last ${formatTime(message.last_reply_at)}`) : ""));
  }

  click(button, message) {
    this.open(message.thread_root || message.id);
  }

  async open(rootId) {
    this.root = rootId;
    this.shown.clear();
    this.list.replaceChildren(h("li", { class: "empty" }, "Loading…"));
    this.panel.hidden = false;
    document.body.classList.add("thread-open");
    try {
      const thread = await get(`/api/v1/messages/${rootId}/thread/?limit=${PAGE}`);
      if (this.root !== rootId) return;
      this.list.replaceChildren();
      this.add(thread.root, true);
      for (const reply of thread.replies) this.add(reply);
      this.count(thread.root.reply_count);
      // Who wrote in a thread follows it (the server does not say whether one stopped: a guess until toggled).
      const wrote = thread.root.sender?.id === this.app.me.id || (thread.root.thread_participants || []).includes(this.app.me.id);
      this.setFollowing(wrote);
    } catch (error) {
      this.list.replaceChildren(h("li", { class: "empty" }, errorText(error.body, error.message)));
    }
    this.input.focus();
  }

  close({ focus = true } = {}) {
    const root = this.root;
    this.root = null;
    this.panel.hidden = true;
    document.body.classList.remove("thread-open");
    if (focus) this.app.timeline.byId.get(root)?.focus();
  }

  setFollowing(following) {
    this.following = following;
    this.follow.setAttribute("aria-pressed", String(following));
    this.follow.textContent = following ? "Following" : "Follow";
    this.follow.title = following ? "Stop getting notified of replies" : "Get notified of replies";
  }

  async toggleFollow() {
    if (this.root === null) return;
    try {
      const answer = await api(this.following ? "DELETE" : "PUT", `/api/v1/messages/${this.root}/follow/`);
      this.setFollowing(answer.following);
      announce(answer.following ? "You follow this thread." : "You no longer follow this thread.");
    } catch (error) {
      announce(errorText(error.body, error.message));
    }
  }

  count(replies) {
    this.title.textContent = `Thread · ${replies} ${replies === 1 ? "reply" : "replies"}`;
  }

  item(message, isRoot) {
    return h("li", { class: isRoot ? "thread-msg thread-root" : "thread-msg", dataset: { id: message.id } },
      h("p", { class: "meta" }, h("span", { class: "author" }, displayName(message.sender)), " ",
        h("time", { datetime: message.created_at }, formatTime(message.created_at))),
      messageBody(message, this.app.me));
  }

  add(message, isRoot = false) {
    if (this.shown.has(message.id)) {
      this.list.querySelector(`[data-id="${Number(message.id)}"]`)?.replaceWith(this.item(message, isRoot || message.id === this.root));
      return;
    }
    this.shown.add(message.id);
    this.list.append(this.item(message, isRoot));
    this.list.parentElement.scrollTop = this.list.parentElement.scrollHeight;
  }

  frame(frame) {
    if (frame.type === "thread_updated") {
      this.messages.patch(frame.message_id, {
        reply_count: frame.reply_count, last_reply_at: frame.last_reply_at, thread_participants: frame.thread_participants,
      });
      if (frame.message_id === this.root) this.count(frame.reply_count);
      return;
    }
    if (this.root === null) return;
    if ((frame.type === "message" || frame.type === "message_updated") && (frame.message.thread_root === this.root || frame.message.id === this.root)) {
      const isNew = !this.shown.has(frame.message.id);
      this.add(frame.message);
      if (isNew && frame.message.sender?.id !== this.app.me.id) announce(`Thread reply from ${displayName(frame.message.sender)}.`);
    } else if (frame.type === "message_deleted" && this.shown.has(frame.id)) {
      this.list.querySelector(`[data-id="${Number(frame.id)}"]`)?.replaceWith(this.item({ ...this.findShown(frame.id), deleted: true }, frame.id === this.root));
    }
  }

  findShown(id) {
    return this.messages.get(id) || { id, sender: null, created_at: new Date().toISOString(), content: "", html: "", attachments: [] };
  }

  async submit(event) {
    event.preventDefault();
    const content = this.input.value.trim();
    if (!content || this.root === null) return;
    this.error.textContent = "";
    try {
      const message = await post("/api/v1/messages/", { room: this.app.slug, content, reply_to: this.root });
      this.input.value = "";
      this.add(message);
      this.setFollowing(true);
    } catch (error) {
      this.error.textContent = errorText(error.body, error.message);
    }
  }
}
