// A WebSocket that reconnects by itself: exponential backoff with jitter, close codes from the
// protocol (4401 refresh then reconnect, 4403 signed out, 4404 room gone, 4409 too many sockets and
// 4429 slow down: wait longer, 1012 the server is restarting: back within a second, to another
// replica), and an immediate retry when the browser comes back online or the tab becomes visible
// again. A handshake the server refuses because too many are in progress (HTTP 503 before the
// upgrade, README "Connect storms") reaches a browser as a close with 1006 and no open: it backs off
// like any failed connection, so a restarted server's clients spread out instead of retrying at once. An open socket outlives its access token: each refresh (auth.js, a minute before expiry)
// is sent on it as {"type": "auth", "token": ...}, answered auth_ok, instead of reconnecting. Its owner may do some work before each connection (beforeConnect), e.g. catch
// up over REST when a cursor keeps failing.

import * as auth from "./auth.js";

const BASE_DELAY = 500;
const MAX_DELAY = 15000;
const FLOOD_DELAY = 20000;
const STABLE_AFTER = 5000;
const sockets = new Set();

export const CLOSE = {
  TOKEN: 4401,
  USER_GONE: 4403,
  ROOM_GONE: 4404,
  TOO_MANY: 4409,
  FLOODING: 4429,
  RESTART: 1012,
};
const RESTART_SPREAD = 1000; // a restarting server's clients come back spread over a second

/** Full-jitter backoff: a random delay between half and all of min(MAX, BASE * 2^attempt). */
export function backoff(attempt) {
  const ceiling = Math.min(MAX_DELAY, BASE_DELAY * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export class ReconnectingSocket {
  /**
   * path: "/ws/messages/"; params(): extra query parameters for the next connection (e.g. last_seq);
   * onFrame(frame); onOpen(); onState(state, detail) with state connecting|open|waiting|offline|stopped;
   * onFatal(code) for 4403 and 4404, after which the socket stays stopped; onClose({code, opened}) for
   * every other close; beforeConnect(): awaited before each connection (a failure does not stop it).
   */
  constructor({
    path,
    params = () => ({}),
    onFrame,
    onOpen = () => {},
    onState = () => {},
    onFatal = () => {},
    onClose = () => {},
    beforeConnect = async () => {},
  }) {
    Object.assign(this, { path, params, onFrame, onOpen, onState, onFatal, onClose, beforeConnect });
    this.ws = null;
    this.preparing = false;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.state = "stopped";
    this.openedAt = 0;
    this.tokenRetries = 0;
  }

  start() {
    this.stopped = false;
    sockets.add(this);
    this.connect();
  }

  stop() {
    this.stopped = true;
    sockets.delete(this);
    clearTimeout(this.timer);
    this.detach(1000);
    this.setState("stopped");
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Renew the open socket's token in band (the socket's token would otherwise expire: 4401). */
  renew(token) {
    if (!token || token === this.usedToken || !this.isOpen) return;
    if (this.send({ type: "auth", token })) this.usedToken = token;
  }

  /** Reconnect now (network back, tab visible again), unless already open or connecting. */
  reconnectNow() {
    if (this.stopped || this.ws || this.preparing) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  /** Drop the connection on purpose (the browser went offline); reconnectNow() resumes. */
  suspend() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.detach(1000);
    this.setState("offline");
  }

  setState(state, detail = {}) {
    this.state = state;
    this.onState(state, detail);
  }

  url() {
    const query = new URLSearchParams({ token: auth.token() || "", ...this.params() });
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${this.path}?${query}`;
  }

  connect() {
    if (this.stopped || this.ws || this.preparing) return;
    if (!navigator.onLine) {
      this.setState("offline");
      return;
    }
    this.setState("connecting");
    this.preparing = true;
    Promise.resolve()
      .then(() => this.beforeConnect())
      .catch(() => {}) // connect anyway: the server replays what it can, or asks for a resync
      .finally(() => {
        this.preparing = false;
        if (!this.stopped && !this.ws && this.state === "connecting") this.open();
      });
  }

  open() {
    this.usedToken = auth.token();
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.openedAt = Date.now();
      this.setState("open");
      this.onOpen();
    });
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && frame.type === "auth_ok") {
        this.expiresAt = frame.exp; // the socket now lives on the renewed token
        return;
      }
      this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.closed(event.code);
    });
  }

  detach(code) {
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code);
  }

  async closed(code) {
    if (this.stopped) return;
    if (this.openedAt && Date.now() - this.openedAt > STABLE_AFTER) {
      this.attempt = 0;
      this.tokenRetries = 0;
    }
    const opened = this.openedAt !== 0;
    this.openedAt = 0;
    if (code === CLOSE.USER_GONE || code === CLOSE.ROOM_GONE) {
      this.stop();
      this.onFatal(code);
      return;
    }
    this.onClose({ code, opened });
    if (code === CLOSE.TOKEN && this.tokenRetries < 2) {
      // The token expired on the open socket (or was refused): refresh, then straight back in.
      this.tokenRetries += 1;
      this.setState("connecting");
      if (auth.token() === this.usedToken) {
        try {
          await auth.refresh();
        } catch (error) {
          if (error instanceof auth.AuthError) return; // signed out: the app stops everything
        }
      }
      if (!this.stopped && !this.ws) this.connect();
      return;
    }
    // Too many sockets (other tabs) or flooding: retrying soon would be refused again.
    const slow = code === CLOSE.FLOODING || code === CLOSE.TOO_MANY;
    let delay = slow ? FLOOD_DELAY : backoff(this.attempt);
    if (code === CLOSE.RESTART) delay = Math.round(Math.random() * RESTART_SPREAD);
    this.attempt += 1;
    this.setState("waiting", { delay, until: Date.now() + delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

auth.onToken((token) => sockets.forEach((socket) => socket.renew(token)));
window.addEventListener("offline", () => sockets.forEach((socket) => socket.suspend()));
window.addEventListener("online", () => sockets.forEach((socket) => socket.reconnectNow()));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") sockets.forEach((socket) => socket.reconnectNow());
});
