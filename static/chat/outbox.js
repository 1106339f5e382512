// Messages written but not yet acknowledged, per room, kept in sessionStorage so that neither a lost
// connection nor a reload loses them. Each keeps its client_id: the server stores a retry only once.

const PREFIX = "chat.outbox.";
const key = (user, room) => `${PREFIX}${user}.${room}`;

/** Forget every unsent message (signing out: the next person on this browser must not send them). */
export function forgetAll() {
  try {
    for (const name of Object.keys(sessionStorage)) if (name.startsWith(PREFIX)) sessionStorage.removeItem(name);
  } catch {
    // storage disabled: nothing was kept
  }
}

export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Outbox {
  constructor(user, room) {
    this.room = room;
    this.key = key(user, room);
    this.items = new Map();
    try {
      for (const entry of JSON.parse(sessionStorage.getItem(this.key) || "[]")) {
        this.items.set(entry.client_id, { ...entry, state: entry.state === "failed" ? "failed" : "queued" });
      }
    } catch {
      this.items.clear();
    }
  }

  get entries() {
    return [...this.items.values()];
  }

  get(clientId) {
    return this.items.get(clientId);
  }

  add({ content, attachments = [], files = [], reply_to = null }) {
    const entry = { client_id: newClientId(), room: this.room, content, attachments, files, reply_to, state: "queued", error: "" };
    this.items.set(entry.client_id, entry);
    this.save();
    return entry;
  }

  update(clientId, patch) {
    const entry = this.items.get(clientId);
    if (!entry) return null;
    Object.assign(entry, patch);
    this.save();
    return entry;
  }

  remove(clientId) {
    if (this.items.delete(clientId)) this.save();
  }

  save() {
    try {
      if (this.items.size) sessionStorage.setItem(this.key, JSON.stringify(this.entries));
      else sessionStorage.removeItem(this.key);
    } catch {
      // Storage full or disabled: the outbox still works for this page's lifetime.
    }
  }
}
