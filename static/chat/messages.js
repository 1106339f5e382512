// One message as a list item: avatar, author, time, text (the server's sanitized html, or plain text with
// @mentions through text nodes), attachments and the actions toolbar. User text never becomes markup on
// the client; the server's file URL authenticates with the access_token cookie.

import { avatarFor } from "./avatars.js";
import { displayName, formatSize, formatTime, h } from "./dom.js";
import { hooks, run } from "./hooks.js";

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
export const safeUrl = (url) => (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : "#");

function attachmentItem(file) {
  const label = `${file.name} (${formatSize(file.size)})`;
  const url = safeUrl(file.url);
  // Pictures show as the server's thumbnail (small, no metadata) and open in the viewer (lightbox.js),
  // which loads the full image only then; an image without a thumbnail (HEIC, too large, damaged) is
  // a download link like any other file. PDFs open in a new tab.
  if (file.content_type.startsWith("image/") && file.thumbnail_url) {
    return h(
      "li",
      { class: "file file-image" },
      h(
        "a",
        { href: url, class: "image-link", dataset: { name: file.name, size: file.size }, title: `View ${label}`, "aria-label": `View ${label}` },
        h("img", { src: safeUrl(file.thumbnail_url), alt: file.name, loading: "lazy" }),
      ),
    );
  }
  if (file.content_type === "application/pdf") {
    return h(
      "li",
      { class: "file" },
      h("a", { href: `${url}?inline=1`, target: "_blank", rel: "noopener" }, h("span", { class: "file-kind" }, "PDF"), " ", label,
        h("span", { class: "visually-hidden" }, " (opens in a new tab)")),
    );
  }
  return h(
    "li",
    { class: "file" },
    h("a", { href: url, download: file.name }, h("span", { class: "file-kind" }, "File"), " ", label),
  );
}

/** The text of a message: the server's sanitized `html` when the payload has one (nh3 made it safe),
 * otherwise the plain text through text nodes, with the mentions marked. */
export function messageBody(message, me) {
  if (message.deleted) return h("p", { class: "body" }, h("em", {}, "This message was deleted."));
  if (typeof message.html === "string" && message.html) {
    const body = h("div", { class: "body rich" });
    body.innerHTML = message.html; // sanitized server-side (nh3); the strict CSP blocks scripts anyway
    for (const link of body.querySelectorAll("a[href]")) {
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
    }
    for (const mention of body.querySelectorAll("a.mention")) {
      if (Number(mention.dataset.userId) === me.id) mention.classList.add("mention-me");
    }
    return body;
  }
  return h("p", { class: "body" }, withMentions(message.content, me.username.toLowerCase()));
}

function replyReference(message, context) {
  if (!message.reply_to) return null;
  const original = context.original?.(message.reply_to);
  const excerpt = original ? (original.deleted ? "a deleted message" : original.content.slice(0, 80) || "a file") : "an earlier message";
  const who = original ? `${displayName(original.sender)}: ` : "";
  return h("p", { class: "reply-ref" }, h("a", { href: `#msg-${Number(message.reply_to)}`, class: "reply-link", dataset: { target: message.reply_to } },
    h("span", { class: "visually-hidden" }, "In reply to "), h("span", { "aria-hidden": "true" }, "↪ "), who, excerpt));
}

function actionButton(action, label, text) {
  return h("button", { type: "button", class: "msg-action", dataset: { action }, title: label, "aria-label": label }, text);
}

/** The hover/focus toolbar: what each person may do with this message today. */
function actions(message, mine, context) {
  if (message.deleted) return null;
  const who = mine ? "your message" : `the message from ${displayName(message.sender)}`;
  return h(
    "div",
    { class: "msg-actions", role: "group", "aria-label": "Message actions" },
    actionButton("reply", `Reply to ${who}`, "Reply"),
    mine ? actionButton("edit", "Edit your message", "Edit") : null,
    mine || context.me.is_staff ? actionButton("delete", `Delete ${who}`, "Delete") : null,
    actionButton("link", `Copy a link to ${who}`, "Link"),
    ...run(hooks.actions, message, mine, context),
  );
}

/** A stored message (from REST or a frame). context: {me: {id, username, is_staff}, original(id)}. */
export function messageItem(message, context) {
  const { me } = context;
  const mine = message.is_mine ?? (message.sender !== null && message.sender.id === me.id);
  const item = h("li", {
    class: ["msg", mine && "mine"].filter(Boolean).join(" "),
    id: `msg-${message.id}`,
    tabindex: "-1",
    dataset: { id: message.id, seq: message.seq, sender: message.sender ? message.sender.id : "", time: message.created_at },
  });
  fillMessage(item, message, context, mine);
  return item;
}

export function fillMessage(item, message, context, mine = item.classList.contains("mine")) {
  const { me } = context;
  const mentioned = !mine && !message.deleted && mentionsOf(message.content).includes(me.username.toLowerCase());
  const author = mine ? "You" : displayName(message.sender);
  const meta = h(
    "p",
    { class: "meta" },
    h("span", { class: "author" }, author),
    " ",
    h("time", { datetime: message.created_at, title: new Date(message.created_at).toLocaleString() }, formatTime(message.created_at)),
    message.edited_at && !message.deleted
      ? h("span", { class: "edited", title: `Edited ${new Date(message.edited_at).toLocaleString()}` }, " (edited)")
      : null,
  );
  const files = message.attachments.length ? h("ul", { class: "files", "aria-label": "Attachments" }, message.attachments.map(attachmentItem)) : null;
  item.classList.toggle("deleted", Boolean(message.deleted));
  item.classList.toggle("mentions-me", mentioned);
  const main = h("div", { class: "msg-main" }, meta, replyReference(message, context), message.deleted || message.content || message.html ? messageBody(message, me) : "", files || "");
  run(hooks.decorate, main, message, context, mine);
  item.replaceChildren(avatarFor(mine ? { ...message.sender, ...me } : message.sender), main, actions(message, mine, context) || "");
}

const STATE_TEXT = {
  sending: "Sending…",
  queued: "Not sent yet: waiting for the connection…",
  failed: "Not sent.",
};

/** A message of ours that the server has not acknowledged yet. */
export function pendingItem(entry, me, onRetry, onDiscard) {
  const item = h("li", { class: "msg mine pending", dataset: { clientId: entry.client_id, state: entry.state } });
  item.append(avatarFor(me), h("div", { class: "msg-main" },
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
  ));
  setPendingState(item, entry.state, entry.error);
  return item;
}

export function setPendingState(item, state, error) {
  item.dataset.state = state;
  const text = STATE_TEXT[state] + (state === "failed" && error ? ` ${error}` : "");
  item.querySelector(".state").textContent = text;
  item.querySelector(".pending-actions").hidden = state !== "failed";
}
