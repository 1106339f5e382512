// Search: a dialog opened with the top bar's button, "/" (outside a text box) or Ctrl+Shift+F; the
// server finds messages in every room one may read. Results are grouped by room with the server's
// highlight (only <mark> is kept from it); choosing one opens its room and loads history back to it.

import { get } from "./api.js";
import { announce, displayName, errorText, formatTime, h } from "./dom.js";
import { roomHref, roomLabel } from "./sidebar.js";
import { makeDialog, topbarButton } from "./ui.js";

const SEARCH = "M10 2a8 8 0 0 1 6.32 12.9l5.39 5.4-1.41 1.4-5.4-5.39A8 8 0 1 1 10 2zm0 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12z";
const MAX_PAGES = 60;

/** The server's highlight (escaped text with <mark>) rebuilt as text nodes and <mark> elements only. */
export function highlighted(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // inert: a template's content never runs or loads anything
  const out = [];
  for (const node of template.content.childNodes) {
    if (node.nodeName === "MARK") out.push(h("mark", {}, node.textContent));
    else out.push(document.createTextNode(node.textContent));
  }
  return out;
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Open a room at one message: switch rooms, then page older history until the message is there. */
export async function jumpTo(app, slug, message) {
  if (app.slug !== slug) location.hash = roomHref(slug);
  for (let i = 0; i < 100 && !(app.slug === slug && app.conversation?.slug === slug && app.timeline.lastSeq); i += 1) await wait(100);
  const conversation = app.conversation;
  for (let page = 0; page < MAX_PAGES && !app.timeline.bySeq.has(message.seq) && conversation?.hasOlder; page += 1) {
    if (conversation.loadingOlder) await wait(100);
    else await conversation.loadOlder().catch(() => {});
    if (app.conversation !== conversation) return;
  }
  if (!app.actions.show(message.id)) announce("That message could not be loaded.");
}

export class Search {
  constructor(app) {
    this.app = app;
    const { dialog, body } = makeDialog("search-dialog", "Search messages", { wide: true });
    this.dialog = dialog;
    this.input = h("input", { id: "search-input", type: "search", autocomplete: "off", maxlength: 200, "aria-describedby": "search-help" });
    this.here = h("input", { type: "checkbox", id: "search-here", onchange: () => this.query() });
    this.status = h("p", { id: "search-status", class: "help", role: "status" });
    this.results = h("div", { id: "search-results", class: "search-results" });
    this.more = h("button", { type: "button", class: "link-button", hidden: true, onclick: () => this.query({ more: true }) }, "More results");
    body.append(
      h("form", { class: "stack", role: "search", onsubmit: (event) => { event.preventDefault(); this.query(); } },
        h("label", { for: "search-input" }, "Words to find"), this.input,
        h("p", { id: "search-help", class: "help" }, "Every word must occur; the last one also matches as a prefix."),
        h("label", { class: "check" }, this.here, " Only in this room")),
      this.status, this.results, this.more,
    );
    let timer = null;
    this.input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.query(), 300);
    });
    topbarButton("search-button", "Search messages (/)", SEARCH, () => this.open());
    document.addEventListener("keydown", (event) => {
      const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
      if ((event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey)
        || (event.key.toLowerCase() === "f" && event.shiftKey && (event.ctrlKey || event.metaKey))) {
        if (document.querySelector("dialog[open]")) return;
        event.preventDefault();
        this.open();
      }
    });
  }

  open() {
    this.dialog.showModal();
    this.input.focus();
    this.input.select();
  }

  async query({ more = false } = {}) {
    const q = this.input.value.trim();
    const serial = (this.serial = (this.serial || 0) + 1);
    if (!more) {
      this.next = null;
      this.groups = new Map();
      this.results.replaceChildren();
      this.more.hidden = true;
    }
    if (!q) {
      this.status.textContent = "";
      return;
    }
    this.status.textContent = "Searching…";
    try {
      const page = await get(more && this.next ? this.next : `/api/v1/search/?q=${encodeURIComponent(q)}&limit=20${this.here.checked && this.app.slug ? `&room=${encodeURIComponent(this.app.slug)}` : ""}`);
      if (serial !== this.serial) return;
      for (const result of page.results) this.add(result);
      const count = [...this.groups.values()].reduce((sum, group) => sum + group.list.childElementCount, 0);
      this.status.textContent = count ? `${count}${page.next ? "+" : ""} result${count === 1 ? "" : "s"}.` : "Nothing found.";
      this.next = page.next ? new URL(page.next, location.href).pathname + new URL(page.next, location.href).search : null;
      this.more.hidden = !this.next;
    } catch (error) {
      if (serial === this.serial) this.status.textContent = errorText(error.body, error.message);
    }
  }

  add({ message, highlight }) {
    const slug = message.room;
    let group = this.groups.get(slug);
    if (!group) {
      const room = this.app.sidebar.room(slug);
      const id = `search-group-${this.groups.size}`;
      const list = h("ul", { class: "result-list", "aria-labelledby": id });
      this.results.append(h("section", { class: "search-group" }, h("h3", { id }, room ? roomLabel(room) : `#${slug}`), list));
      group = { list };
      this.groups.set(slug, group);
    }
    group.list.append(h("li", {}, h("button", { type: "button", class: "result", dataset: { id: message.id },
      onclick: () => {
        this.dialog.close();
        jumpTo(this.app, slug, message);
      } },
    h("span", { class: "meta" }, h("span", { class: "author" }, displayName(message.sender)), " ",
      h("time", { datetime: message.created_at }, formatTime(message.created_at))),
    h("span", { class: "excerpt" }, highlighted(highlight || message.content)))));
  }
}
