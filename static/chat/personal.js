// The personal socket (/ws/notifications/): notifications (shown as desktop notifications too, as the
// preferences say), unread counts, presence, and every frame to the feature modules (hooks.personalFrame:
// rooms changed by others, reports). After a reconnect it loads again what may have changed meanwhile.

import { notifyDesktop } from "./alerts.js";
import * as auth from "./auth.js";
import { hooks, run } from "./hooks.js";
import { ReconnectingSocket } from "./socket.js";
import * as status from "./status.js";

export class PersonalFeed {
  /** app: the ChatApp (its sidebar, notifications, me and open room's slug). */
  constructor(app) {
    this.app = app;
    this.catchUp = false;
    this.socket = new ReconnectingSocket({
      path: "/ws/notifications/",
      onFrame: (frame) => this.onFrame(frame),
      onOpen: () => this.onOpen(),
      onState: (state, detail) => status.report("personal", state, detail),
      onFatal: () => auth.signedOut("user_gone"),
    });
  }

  /** catchUp: something failed to load before the first connection, so load it again once connected. */
  start({ catchUp }) {
    this.catchUp = catchUp;
    this.socket.start();
  }

  stop() {
    this.socket.stop();
  }

  reloadRooms() {
    const { sidebar } = this.app;
    sidebar.loadRooms().then(() => sidebar.setActive(this.app.slug)).catch(() => {});
  }

  onOpen() {
    // After the first connection, catch up on what changed while we were away.
    if (this.catchUp) {
      this.app.sidebar.loadOnline().catch(() => {});
      this.reloadRooms();
      this.app.notifications.load().catch(() => {});
    }
    this.catchUp = true;
  }

  onFrame(frame) {
    run(hooks.personalFrame, frame);
    const { sidebar, notifications } = this.app;
    switch (frame.type) {
      case "notification":
        notifications.add(frame.notification);
        notifyDesktop(frame.notification, this.app.me.preferences, (shown) => notifications.open(shown));
        if (frame.notification.data?.room && !sidebar.room(frame.notification.data.room)) this.reloadRooms();
        break;
      case "notifications_read":
        notifications.read(frame.ids);
        break;
      case "unread":
        sidebar.setUnread(frame.room, frame.count);
        break;
      case "presence":
        sidebar.presence(frame);
        break;
      default:
        break;
    }
  }
}
