// The conversation features on the page (issue 13, items 2-4): threads, reactions, pins, search, edit
// history, room management, read receipts, reporting and the reports queue. Each lives in its own
// module; this one wires them to the app through hooks.js and adds their buttons to the top bar.

import { EditHistory } from "./edithistory.js";
import { hooks } from "./hooks.js";
import { Pins } from "./pins.js";
import { Reactions } from "./reactions.js";
import { Readers } from "./readers.js";
import { Report } from "./report.js";
import { ReportQueue } from "./reportqueue.js";
import { RoomMenu } from "./roomsettings.js";
import { Rooms } from "./rooms.js";
import { Search } from "./search.js";
import { Threads } from "./threads.js";
import { $ } from "./dom.js";

/** Shared by the feature modules: read and change a message shown in the timeline. */
export class Messages {
  constructor(app) {
    this.app = app;
  }

  get(id) {
    return this.app.timeline.messages.get(Number(id));
  }

  /** Merge `changes` into a shown message and draw it again (not while it is being edited in place). */
  patch(id, changes) {
    const message = this.get(id);
    if (!message) return null;
    const updated = { ...message, ...changes };
    const item = this.app.timeline.byId.get(message.id);
    if (item?.querySelector(".edit-form")) this.app.timeline.messages.set(message.id, updated);
    else this.app.timeline.update(updated);
    return updated;
  }
}

export function installFeatures(app) {
  const messages = new Messages(app);
  const features = {
    threads: new Threads(app, messages),
    reactions: new Reactions(app, messages),
    pins: new Pins(app, messages),
    history: new EditHistory(app, messages),
    search: new Search(app),
    rooms: new Rooms(app),
    readers: new Readers(app),
    report: new Report(app),
    queue: new ReportQueue(app),
  };
  features.menu = new RoomMenu(app, features.rooms);
  hooks.personalFrame.push((frame) => features.rooms.personalFrame(frame));
  // One listener for the buttons the features draw into messages (data-feature="...").
  $("messages").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-feature]");
    const item = button?.closest(".msg");
    const message = item && messages.get(item.dataset.id);
    if (!message) return;
    const feature = features[button.dataset.feature];
    feature?.click(button, message);
  });
  return {
    roomOpened: () => {
      features.rooms.showHeader();
      features.queue.refresh();
    },
    hooks,
  };
}
