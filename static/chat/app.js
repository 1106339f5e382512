// The page's entry point: sign in (or resume with the refresh cookie), then wire the pieces together:
// side panel, notifications, the open room (#/r/<slug>), the composer and the personal socket.

import "./theme.js"; // first: the remembered theme applies before anything is drawn
import { MessageActions } from "./actions.js";
import { ApiError, get, post } from "./api.js";
import * as auth from "./auth.js";
import { Composer } from "./composer.js";
import { Conversation } from "./conversation.js";
import { $, announce, displayName } from "./dom.js";
import { installFeatures } from "./features.js";
import { Lightbox } from "./lightbox.js";
import { Notifications } from "./notifications.js";
import { forgetAll } from "./outbox.js";
import { Panel } from "./panels.js";
import { PersonalFeed } from "./personal.js";
import { Profile } from "./profile.js";
import { roomHref, roomLabel, Sidebar } from "./sidebar.js";
import * as signin from "./signin.js";
import { backoff } from "./socket.js";
import * as status from "./status.js";
import { Switcher } from "./switcher.js";
import { Timeline } from "./timeline.js";
import { Typing } from "./typing.js";
import { UnreadJump } from "./unread.js";

const limits = JSON.parse($("chat-limits").textContent);
const finePointer = window.matchMedia("(pointer: fine)").matches;

class ChatApp {
  constructor(me) {
    this.me = me;
    this.conversation = null;
    this.slug = null;
    this.timeline = new Timeline({ list: $("messages"), scroller: $("scroller"), jump: $("jump-latest"), me });
    this.sidebar = new Sidebar({ me, onDirect: (user) => this.openDirect(user), mentions: (slug) => this.notifications?.mentionsIn(slug) || 0 });
    this.drawer = new Panel({
      panel: $("sidebar"),
      toggle: $("sidebar-toggle"),
      scrim: $("sidebar-scrim"),
      focusOnOpen: () => $("sidebar").querySelector("a, button, input"),
    });
    this.panel = new Panel({
      panel: $("notifications-panel"),
      toggle: $("notifications-toggle"),
      focusOnOpen: () => $("notifications-list").querySelector("button") || $("notifications-panel"),
    });
    $("notifications-close").addEventListener("click", () => this.panel.close());
    this.notifications = new Notifications({ panel: this.panel, onChange: () => this.sidebar.renderRooms() });
    this.actions = new MessageActions({ timeline: this.timeline, room: () => this.slug, focusComposer: () => this.composer.focus() });
    this.unread = new UnreadJump({ timeline: this.timeline, conversation: () => this.conversation });
    this.lightbox = new Lightbox();
    this.switcher = new Switcher({ rooms: () => this.sidebar.ordered(), active: () => this.slug });
    this.profile = new Profile({ me, onChange: (changed) => Object.assign(this.me, changed) });
    this.typing = new Typing($("typing"));
    this.composer = new Composer({
      limits,
      onSend: (content, files) => this.conversation?.send(content, files, this.actions.takeReply()),
      onEditLast: () => this.actions.editLast(),
      onTyping: () => this.conversation?.typing(),
      candidates: (prefix) => this.sidebar.candidates(prefix),
    });
    this.personal = new PersonalFeed(this);
    this.features = installFeatures(this);
    this.onHash = () => this.route();
    $("scroller").addEventListener("scroll", () => {
      if ($("scroller").scrollTop < 150) this.loadOlder();
    });
    $("load-older").addEventListener("click", () => this.loadOlder());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.conversation?.markRead();
    });
  }

  async start() {
    $("me").textContent = displayName(this.me);
    $("app").hidden = false;
    const loaded = await Promise.allSettled([
      this.sidebar.loadRooms(),
      this.sidebar.loadOnline(),
      this.notifications.load(),
    ]);
    // Whatever failed to load is loaded again once the personal socket is up.
    this.personal.start({ catchUp: loaded.some((result) => result.status === "rejected") });
    window.addEventListener("hashchange", this.onHash);
    await this.route();
  }

  stop() {
    window.removeEventListener("hashchange", this.onHash);
    this.personal.stop();
    this.conversation?.close();
    this.conversation = null;
  }

  // --- rooms --------------------------------------------------------------------------------------

  async route() {
    // "#/r/<slug>", or "#/r/<slug>/<seq>" from a missed-message email (the room opens at its newest).
    const match = location.hash.match(/^#\/r\/([A-Za-z0-9_-]{1,64})(?:\/(\d{1,20}))?$/);
    const slug = match ? match[1] : "general";
    const seq = match && match[2] ? Number(match[2]) : null;
    this.drawer.close({ restoreFocus: false });
    try {
      if (slug !== this.slug) await this.openRoom(slug);
      // A link to one message (copied from its toolbar, or from a missed-message email): show it if loaded.
      if (seq !== null && this.slug === slug && this.timeline.bySeq.has(seq)) this.actions.show(this.timeline.bySeq.get(seq));
    } catch (error) {
      this.notice(`Could not open the room: ${error.message}`);
    }
  }

  async openRoom(slug) {
    const navigation = (this.navigation = (this.navigation || 0) + 1);
    let room = this.sidebar.room(slug);
    if (!room) {
      try {
        room = await get(`/api/v1/rooms/${encodeURIComponent(slug)}/`);
        if (navigation !== this.navigation) return; // another room was chosen meanwhile
        this.sidebar.addRoom(room);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404 || slug === "general") throw error;
        this.notice(`There is no room “${slug}”, or you may not read it.`);
        location.hash = roomHref("general");
        return;
      }
    }
    this.conversation?.close();
    this.unread.closed();
    this.actions.cancelReply();
    this.slug = slug;
    this.typing.clear();
    this.composer.restrict("");
    const { last_read_seq: lastRead, unread } = room;
    $("room-title").textContent = roomLabel(room);
    $("room-topic").textContent = room.topic || "";
    this.composer.setRoomLabel(roomLabel(room));
    this.sidebar.setActive(slug);
    this.features?.roomOpened(room);
    const conversation = new Conversation({
      room,
      me: this.me,
      timeline: this.timeline,
      onState: (state, detail) => {
        status.report("room", state, detail);
        // Which room's socket is live, for styling and for the browser tests.
        Object.assign($("conversation").dataset, { room: slug, socket: state });
      },
      onGone: (gone) => this.roomGone(gone),
      onRemoved: (gone) => this.roomRemoved(gone),
      onRefused: (frame) => this.composer.restrict(frame.detail || frame.code),
      onTyping: (user) => this.typing.add(user),
      onIncoming: (messages, options) => this.incoming(messages, options),
      onOlderState: (state) => this.olderState(state),
      onRead: (seq) => this.sidebar.setRead(slug, seq),
    });
    this.conversation = conversation;
    await conversation.open();
    if (navigation === this.navigation) this.unread.opened(lastRead, unread);
    if (finePointer && navigation === this.navigation) this.composer.focus();
  }

  roomGone(slug, text = "The room you were in is no longer available.") {
    this.sidebar.removeRoom(slug);
    this.notice(text);
    announce(text);
    this.slug = null;
    if (location.hash === roomHref("general")) this.route();
    else location.hash = roomHref("general");
  }

  /** The room's socket closed with 4403: a moderator banned us from the room (the account itself being
   * gone closes the personal socket too, which signs us out, and this request fails). */
  async roomRemoved(slug) {
    const room = this.sidebar.room(slug);
    try {
      await get("/api/v1/users/me/");
    } catch {
      return;
    }
    this.roomGone(slug, `You were removed from ${room ? roomLabel(room) : slug} by a moderator.`);
  }

  async openDirect(user) {
    try {
      const room = await post("/api/v1/rooms/direct/", { user: user.id });
      this.sidebar.addRoom(room);
      location.hash = roomHref(room.slug);
    } catch (error) {
      this.notice(error.message);
    }
  }

  notice(text) {
    const box = $("room-notice");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (box.hidden = true), 8000);
  }

  // --- history ------------------------------------------------------------------------------------

  loadOlder() {
    this.conversation?.loadOlder().catch(() => this.notice("Could not load older messages."));
  }

  olderState({ hasOlder, loading }) {
    $("load-older").hidden = !hasOlder;
    $("load-older").textContent = loading ? "Loading older messages…" : "Load older messages";
    $("load-older").disabled = loading;
    $("history-start").hidden = hasOlder;
    this.timeline.setAtStart(!hasOlder);
    // Too few messages to scroll: fetch more so that scrolling up can ask for the rest.
    const scroller = $("scroller");
    if (hasOlder && !loading && scroller.scrollHeight <= scroller.clientHeight + 20) setTimeout(() => this.loadOlder(), 0);
  }

  incoming(messages, { replayed }) {
    const others = messages.filter((message) => !message.sender || message.sender.id !== this.me.id);
    for (const message of others) if (message.sender) this.typing.remove(message.sender.id);
    if (!others.length) return;
    if (replayed && others.length > 3) {
      announce(`${others.length} new messages.`);
      return;
    }
    for (const message of others) {
      const text = message.content || `${message.attachments.length} file(s)`;
      announce(`${displayName(message.sender)}: ${text.slice(0, 200)}`);
    }
  }
}

// --- boot -----------------------------------------------------------------------------------------

let app = null;
let started = false;

async function start() {
  started = true;
  signin.hide();
  const me = await get("/api/v1/users/me/");
  app = new ChatApp(me);
  await app.start();
}

async function boot() {
  signin.setup({
    signupOpen: limits.signup_open,
    // A second sign-in in the same page starts from a clean page (the refresh cookie signs it in).
    onSignedIn: () => (started ? location.reload() : start().catch(failed)),
  });
  auth.onSignedOut((reason) => {
    app?.stop();
    app = null;
    signin.show(reason);
  });
  $("signout").addEventListener("click", () => {
    forgetAll();
    auth.signOut().catch(() => {});
  });
  let restored = null;
  for (let attempt = 0; restored === null; attempt += 1) {
    try {
      restored = await auth.restore();
    } catch {
      $("boot").textContent = "Cannot reach the server. Retrying…";
      await new Promise((resolve) => setTimeout(resolve, backoff(Math.min(attempt, 5))));
    }
  }
  $("boot").hidden = true;
  if (restored) await start();
  else signin.show();
}

function failed(error) {
  $("boot").hidden = false;
  $("boot").textContent = `Something went wrong: ${error.message}. Reload the page to try again.`;
}

boot().catch(failed);
