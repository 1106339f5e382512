// Our messages on their way to the open room: shown at once as pending, sent on the room's socket with
// their client_id, sent again after a reconnect or when no ack came, delivered over REST when the socket
// is gone for good, and marked failed (with the server's reason) when it refuses them. Kept apart from
// conversation.js, which follows what the room says; this follows what we say.

import { ApiError, get, post } from "./api.js";
import { Outbox } from "./outbox.js";

export const ACK_TIMEOUT = 8000;
const PERMANENT = new Set([
  "empty", "too_long", "invalid_attachment", "client_id_conflict", "invalid_field", "permission_denied", "not_found",
  "muted", "posting_restricted", "room_archived", "insufficient_scope",
]);
/** Refusals that are about the person in this room, not the message: the composer says them. */
export const RESTRICTIONS = new Set(["muted", "posting_restricted", "room_archived"]);

export class Outgoing {
  /**
   * slug, me, timeline; socket(): the room's ReconnectingSocket (or undefined); receive(messages, options)
   * adds stored messages to the room; isClosed(); onRefused(frame) for a refusal in RESTRICTIONS.
   */
  constructor({ slug, me, timeline, socket, receive, isClosed, onRefused = () => {} }) {
    Object.assign(this, { slug, timeline, socket, receive, isClosed, onRefused });
    this.outbox = new Outbox(me.id, slug);
    this.timer = setInterval(() => this.resendStale(), ACK_TIMEOUT / 2);
  }

  stop() {
    clearInterval(this.timer);
  }

  /** Messages left unsent (by a lost connection or a reload), unless the server already has them. */
  showUnsent() {
    for (const entry of this.outbox.entries) {
      if (this.timeline.shows(entry.client_id)) this.outbox.remove(entry.client_id);
      else this.showPending(entry);
    }
  }

  /** Stored messages arrived: ours among them are delivered. */
  delivered(messages, me) {
    for (const message of messages) {
      if (message.client_id && message.sender && message.sender.id === me.id) this.outbox.remove(message.client_id);
    }
  }

  send(content, files = [], replyTo = null) {
    const entry = this.outbox.add({ content, attachments: files.map((file) => file.id), files, reply_to: replyTo });
    this.showPending(entry);
    this.transmit(entry);
    return entry;
  }

  showPending(entry) {
    this.timeline.addPending(entry, { onRetry: () => this.retry(entry.client_id), onDiscard: () => this.discard(entry.client_id) });
  }

  transmit(entry) {
    const frame = { type: "message", content: entry.content, client_id: entry.client_id };
    if (entry.attachments.length) frame.attachments = entry.attachments;
    if (entry.reply_to) frame.reply_to = entry.reply_to;
    const socket = this.socket();
    const sent = socket && socket.send(frame);
    this.outbox.update(entry.client_id, { state: sent ? "sending" : "queued", sentAt: Date.now(), error: "" });
    this.timeline.pendingState(entry.client_id, sent ? "sending" : "queued");
  }

  /** The socket (re)opened: everything unacknowledged goes again, with the same client_id. */
  flush() {
    for (const entry of this.outbox.entries) if (entry.state !== "failed") this.transmit(entry);
  }

  resendStale() {
    const now = Date.now();
    for (const entry of this.outbox.entries) {
      if (entry.state === "sending" && now - entry.sentAt > ACK_TIMEOUT) this.transmit(entry);
    }
  }

  retry(clientId) {
    const entry = this.outbox.get(clientId);
    if (entry) this.transmit(entry);
  }

  discard(clientId) {
    this.outbox.remove(clientId);
    this.timeline.removePending(clientId);
  }

  acked({ client_id: clientId, id }) {
    if (!clientId) return;
    this.outbox.remove(clientId);
    if (this.timeline.byId.has(id)) {
      this.timeline.removePending(clientId);
      return;
    }
    // The broadcast normally follows; a retry of an already stored message is not broadcast again.
    setTimeout(() => this.fetchMissing(id, clientId), 1500);
  }

  async fetchMissing(id, clientId) {
    if (this.isClosed() || this.timeline.byId.has(id)) return;
    try {
      const message = await get(`/api/v1/messages/${id}/`);
      this.receive([message], { replayed: true });
    } catch {
      this.timeline.removePending(clientId);
    }
  }

  /** An error frame: a message of ours refused for good is marked failed, with the reason. */
  refused(frame) {
    const entry = frame.client_id && this.outbox.get(frame.client_id);
    if (!entry) return;
    if (!PERMANENT.has(frame.code) && frame.code !== "server_error") return; // resent after ACK_TIMEOUT
    this.outbox.update(entry.client_id, { state: "failed", error: frame.detail || frame.code });
    this.timeline.pendingState(entry.client_id, "failed", frame.detail || frame.code);
    if (RESTRICTIONS.has(frame.code)) this.onRefused(frame);
  }

  /** When the room's socket is gone for good, deliver what is left over REST (same client_ids). */
  flushOverRest() {
    for (const entry of this.outbox.entries) {
      if (entry.state === "failed") continue;
      const body = { room: this.slug, content: entry.content, client_id: entry.client_id };
      if (entry.attachments.length) body.attachments = entry.attachments;
      if (entry.reply_to) body.reply_to = entry.reply_to;
      post("/api/v1/messages/", body)
        .then(() => this.outbox.remove(entry.client_id))
        .catch((error) => {
          if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
            this.outbox.update(entry.client_id, { state: "failed", error: error.message });
          }
        });
    }
  }
}
