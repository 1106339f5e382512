// One message as a list item: author, time, text with @mentions, attachments. Text only through
// textContent (h() and text nodes); the server's file URL authenticates with the access_token cookie.

import { displayName, formatSize, formatTime, h } from "./dom.js";

// The server's mention pattern (messaging/services/notifications.py): "@name" not after a word char.
const MENTION = /(^|[^\p{L}\p{N}_@])@([\p{L}\p{N}_.+-]{1,150})/gu;

export function mentionsOf(text) {
  return [...text.matchAll(MENTION)].map((match) => match[2].replace(/[.+-]+$/u, "").toLowerCase());
}

/** Text nodes and <mark>/<span> elements for the mentions; `me` (lower-case) gets highlighted. */
export function withMentions(text, me) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const name = match[2].replace(/[.+-]+$/u, "");
    const start = match.index + match[1].length;
    parts.push(text.slice(last, start));
    const isMe = name.toLowerCase() === me;
    parts.push(h(isMe ? "mark" : "span", { class: isMe ? "mention mention-me" : "mention" }, `@${name}`));
    last = start + 1 + name.length;
  }
  parts.push(text.slice(last));
  return parts;
}

/** Only same-origin paths become links (never a javascript: or another site's URL). */
const safeUrl = (url) => (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : "#");

function attachmentItem(file) {
  const label = `${file.name} (${formatSize(file.size)})`;
  const url = safeUrl(file.url);
  // Pictures show as the server's thumbnail (small, no metadata); an image without one (HEIC, too
  // large, damaged) is a download link like any other file.
  if (file.content_type.startsWith("image/") && file.thumbnail_url) {
    return h(
      "li",
      { class: "file file-image" },
      h(
        "a",
        { href: url, download: file.name, title: `Download ${label}` },
        h("img", { src: safeUrl(file.thumbnail_url), alt: file.name, loading: "lazy" }),
      ),
    );
  }
  return h(
    "li",
    { class: "file" },
    h("a", { href: url, download: file.name }, h("span", { class: "file-kind" }, "File"), " ", label),
  );
}

/** A stored message (from REST or a frame). `me` is {id, username}. */
export function messageItem(message, me) {
  const mine = message.is_mine ?? (message.sender !== null && message.sender.id === me.id);
  const mentioned = !mine && mentionsOf(message.content).includes(me.username.toLowerCase());
  const item = h("li", {
    class: ["msg", mine && "mine", mentioned && "mentions-me", message.deleted && "deleted"].filter(Boolean).join(" "),
    id: `msg-${message.id}`,
    dataset: { id: message.id, seq: message.seq },
  });
  fillMessage(item, message, me, mine);
  return item;
}

export function fillMessage(item, message, me, mine = item.classList.contains("mine")) {
  const author = mine ? "You" : displayName(message.sender);
  const meta = h(
    "p",
    { class: "meta" },
    h("span", { class: "author" }, author),
    " ",
    h("time", { datetime: message.created_at, title: new Date(message.created_at).toLocaleString() }, formatTime(message.created_at)),
    message.edited_at && !message.deleted ? h("span", { class: "edited" }, " (edited)") : null,
  );
  const body = message.deleted
    ? h("p", { class: "body" }, h("em", {}, "This message was deleted."))
    : h("p", { class: "body" }, withMentions(message.content, me.username.toLowerCase()));
  const files = message.attachments.length ? h("ul", { class: "files", "aria-label": "Attachments" }, message.attachments.map(attachmentItem)) : null;
  item.classList.toggle("deleted", Boolean(message.deleted));
  item.replaceChildren(meta, message.deleted || message.content ? body : "", files || "");
}

const STATE_TEXT = {
  sending: "Sending…",
  queued: "Not sent yet: waiting for the connection…",
  failed: "Not sent.",
};

/** A message of ours that the server has not acknowledged yet. */
export function pendingItem(entry, me, onRetry, onDiscard) {
  const item = h("li", { class: "msg mine pending", dataset: { clientId: entry.client_id, state: entry.state } });
  item.append(
    h("p", { class: "meta" }, h("span", { class: "author" }, "You"), " ", h("span", { class: "state" })),
    entry.content ? h("p", { class: "body" }, withMentions(entry.content, me.username.toLowerCase())) : "",
    entry.files.length ? h("ul", { class: "files" }, entry.files.map(attachmentItem)) : "",
    h(
      "p",
      { class: "pending-actions" },
      h("button", { type: "button", class: "link-button", onclick: onRetry }, "Retry"),
      " ",
      h("button", { type: "button", class: "link-button", onclick: onDiscard }, "Discard"),
    ),
  );
  setPendingState(item, entry.state, entry.error);
  return item;
}

export function setPendingState(item, state, error) {
  item.dataset.state = state;
  const text = STATE_TEXT[state] + (state === "failed" && error ? ` ${error}` : "");
  item.querySelector(".state").textContent = text;
  item.querySelector(".pending-actions").hidden = state !== "failed";
}
