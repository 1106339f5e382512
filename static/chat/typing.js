// "Ana is typing…": typing frames are best-effort and carry no "stopped", so each one lasts a few seconds.

import { clear } from "./dom.js";

const LASTS = 4000;

export class Typing {
  constructor(element) {
    this.element = element;
    this.users = new Map(); // id -> {username, timer}
  }

  add(user) {
    clearTimeout(this.users.get(user.id)?.timer);
    this.users.set(user.id, { username: user.username, timer: setTimeout(() => this.remove(user.id), LASTS) });
    this.render();
  }

  remove(id) {
    clearTimeout(this.users.get(id)?.timer);
    if (this.users.delete(id)) this.render();
  }

  clear() {
    for (const id of [...this.users.keys()]) this.remove(id);
    clear(this.element);
  }

  render() {
    const names = [...this.users.values()].map((user) => user.username);
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    this.element.textContent = text;
  }
}
