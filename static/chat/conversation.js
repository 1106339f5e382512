// The open room: its history over REST (newest page, then older pages on scroll), its socket
// (/ws/messages/ resuming with last_seq), typing and read state; our outgoing messages are outgoing.js's.

import { ApiError, get, post } from "./api.js";
import * as auth from "./auth.js";
import { hooks, run } from "./hooks.js";
import { Outgoing } from "./outgoing.js";
import { backoff, CLOSE, ReconnectingSocket } from "./socket.js";

const PAGE = 30;
const TYPING_INTERVAL = 2000;
// Connections that opened and closed before their replay was complete, with the same cursor, before the
// page stops asking the socket for that replay and pages the gap over REST instead.
const CURSOR_FAILURES = 2;

export class Conversation {
  /**
   * room: {slug, ...}; timeline: Timeline; callbacks: onState(state, detail), onGone(slug) (the room is
   * unknown or unreadable: 4404), onRemoved(slug) (closed with 4403: banned from the room, or the account
   * is gone), onTyping(user), onIncoming(messages, {replayed}), onOlderState({hasOlder, loading}),
   * onRead(seq), onRefused(frame) (a message refused because of who we are here: muted, ...).
   */
  constructor({ room, me, timeline, onState, onGone, onRemoved, onTyping, onIncoming, onOlderState, onRead, onRefused }) {
    Object.assign(this, { room, me, timeline, onState, onGone, onRemoved, onTyping, onIncoming, onOlderState, onRead });
    this.slug = room.slug;
    this.cursor = 0;
    this.syncing = false;
    this.hasOlder = false;
    this.loadingOlder = false;
    this.closed = false;
    this.lastTyping = 0;
    this.readSeq = 0;
    this.readTimer = null;
    this.replayed = false;
    this.stuck = { cursor: null, failures: 0 };
    this.outgoing = new Outgoing({
      slug: this.slug,
      me,
      timeline,
      socket: () => this.socket,
      receive: (messages, options) => this.receive(messages, options),
      isClosed: () => this.closed,
      onRefused,
    });
  }

  async open() {
    this.timeline.reset();
    const page = await this.firstPage();
    if (this.closed || page === null) return;
    this.timeline.addNewer(page.results, { follow: true });
    this.cursor = this.timeline.lastSeq;
    this.setOlder(page.previous !== null);
    this.outgoing.showUnsent();
    this.socket = new ReconnectingSocket({
      path: "/ws/messages/",
      params: () => ({ room: this.slug, last_seq: String(this.cursor) }),
      onFrame: (frame) => this.onFrame(frame),
      onOpen: () => {
        this.replayed = false;
        this.outgoing.flush();
      },
      onClose: ({ code, opened }) => this.socketClosed(code, opened),
      beforeConnect: () => this.catchUpIfStuck(),
      onState: (state, detail) => this.onState(state, detail),
      onFatal: (code) => (code === CLOSE.ROOM_GONE ? this.onGone(this.slug) : this.onRemoved(this.slug)),
    });
    this.socket.start();
    this.markRead();
  }

  /** The newest page, retried with backoff while the server cannot be reached; null if the room is gone. */
  async firstPage() {
    for (let attempt = 0; !this.closed; attempt += 1) {
      try {
        return await get(`/api/v1/messages/?room=${encodeURIComponent(this.slug)}&limit=${PAGE}`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          this.onGone(this.slug);
          return null;
        }
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
        if (this.closed) break;
        const delay = backoff(attempt);
        this.onState("waiting", { delay, until: Date.now() + delay });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    return null;
  }

  close() {
    this.closed = true;
    this.outgoing.stop();
    clearTimeout(this.readTimer);
    this.socket?.stop();
    if (auth.token()) this.outgoing.flushOverRest();
  }

  // --- history ------------------------------------------------------------------------------------

  setOlder(hasOlder) {
    this.hasOlder = hasOlder;
    this.onOlderState({ hasOlder, loading: this.loadingOlder });
  }

  async loadOlder() {
    if (!this.hasOlder || this.loadingOlder || this.timeline.firstSeq === null) return;
    this.loadingOlder = true;
    this.setOlder(true);
    try {
      const url = `/api/v1/messages/?room=${encodeURIComponent(this.slug)}&before=${this.timeline.firstSeq}&limit=${PAGE}`;
      const page = await get(url);
      if (this.closed) return;
      this.timeline.addOlder(page.results);
      this.loadingOlder = false;
      this.setOlder(page.previous !== null);
    } catch (error) {
      this.loadingOlder = false;
      this.setOlder(true);
      throw error;
    }
  }

  /** After a resync frame (or a cursor that keeps failing): page the gap over REST with after=, up to
   * `upto` or to the newest message, then go on from the socket. */
  async resync(from, upto = Infinity) {
    this.syncing = true;
    let after = from;
    try {
      while (after < upto && !this.closed) {
        const page = await get(`/api/v1/messages/?room=${encodeURIComponent(this.slug)}&after=${after}&limit=100`);
        if (this.closed || !page.results.length) break;
        this.receive(page.results, { replayed: true });
        after = page.results[page.results.length - 1].seq;
        this.cursor = Math.max(this.cursor, after);
        if (!page.next) break;
      }
      this.cursor = Math.max(this.cursor, this.timeline.lastSeq, Number.isFinite(upto) ? upto : 0);
    } finally {
      this.syncing = false;
    }
  }

  /** The replay after the cursor is done: the socket is live. */
  replayDone() {
    this.replayed = true;
    this.stuck = { cursor: null, failures: 0 };
  }

  /** A connection closed: count it against the cursor when it opened but never finished its replay
   * (unless the close says why: a token to refresh, a flood to slow down). */
  socketClosed(code, opened) {
    if (!opened || this.replayed || code === CLOSE.TOKEN || code === CLOSE.FLOODING) return;
    if (this.stuck.cursor === this.cursor) this.stuck.failures += 1;
    else this.stuck = { cursor: this.cursor, failures: 1 };
  }

  /** Before reconnecting: a cursor whose replay keeps failing is not asked for again; the gap is paged
   * over REST and the socket resumes from where that ended. */
  async catchUpIfStuck() {
    if (this.closed || this.stuck.failures < CURSOR_FAILURES || this.stuck.cursor !== this.cursor) return;
    await this.resync(this.cursor);
    this.stuck = { cursor: null, failures: 0 };
  }

  async reload() {
    const page = await get(`/api/v1/messages/?room=${encodeURIComponent(this.slug)}&limit=${PAGE}`);
    if (this.closed) return;
    this.timeline.reset();
    this.timeline.addNewer(page.results, { follow: true });
    this.cursor = Math.max(this.cursor, this.timeline.lastSeq);
    this.setOlder(page.previous !== null);
    this.outgoing.showUnsent();
  }

  // --- frames -------------------------------------------------------------------------------------

  onFrame(frame) {
    run(hooks.roomFrame, frame);
    switch (frame.type) {
      case "message":
        this.receive([frame.message], { replayed: false });
        break;
      case "history":
        this.receive(frame.messages, { replayed: true });
        if (frame.complete !== false) this.replayDone(); // one frame, or the last of several
        break;
      case "resync":
        this.replayDone();
        // On failure, reconnecting resumes from how far the paging got.
        this.resync(frame.last_seq, frame.latest_seq).catch(() => this.socket.ws?.close(4000, "resync failed"));
        break;
      case "ack":
        this.outgoing.acked(frame);
        break;
      case "error":
        this.outgoing.refused(frame);
        break;
      case "typing":
        if (frame.user.id !== this.me.id) this.onTyping(frame.user);
        break;
      case "message_updated":
        this.timeline.update(frame.message);
        break;
      case "message_deleted":
        this.timeline.markDeleted(frame.id);
        break;
      case "messages_purged":
        if (frame.room === null || frame.room === this.slug) this.reload().catch(() => {});
        break;
      default:
        break; // frames we do not know are ignored, as the protocol asks
    }
  }

  receive(messages, { replayed }) {
    this.outgoing.delivered(messages, this.me);
    const added = this.timeline.addNewer(messages);
    if (!this.syncing) this.cursor = Math.max(this.cursor, this.timeline.lastSeq);
    if (added.length) {
      this.onIncoming(added, { replayed });
      this.markRead();
    }
  }

  // --- sending (outgoing.js) ----------------------------------------------------------------------

  send(content, files = [], replyTo = null) {
    return this.outgoing.send(content, files, replyTo);
  }

  // --- typing and read state ------------------------------------------------------------------------

  typing() {
    const now = Date.now();
    if (now - this.lastTyping < TYPING_INTERVAL) return;
    this.lastTyping = now;
    this.socket?.send({ type: "typing" });
  }

  /** Mark read up to the newest message shown, once things settle, while the page is visible. */
  markRead() {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      const seq = this.timeline.lastSeq;
      if (this.closed || document.visibilityState !== "visible" || seq <= this.readSeq) return;
      this.readSeq = seq;
      this.onRead?.(seq);
      post(`/api/v1/rooms/${encodeURIComponent(this.slug)}/read/`, { seq }).catch(() => {
        this.readSeq = 0;
      });
    }, 600);
  }
}
