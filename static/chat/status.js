// The connection indicator: the worse of the two sockets' states, with data-state for styling
// (connected | connecting | reconnecting | disconnected). The words live in a role="status" region and
// change only with the state; the seconds countdown beside them is hidden from screen readers.

import { $ } from "./dom.js";

const states = new Map(); // socket name -> {state, detail}
const RANK = { offline: 4, waiting: 3, connecting: 2, open: 0 };
const WORDS = {
  open: ["connected", "Connected"],
  connecting: ["connecting", "Connecting…"],
  waiting: ["reconnecting", "Disconnected, reconnecting"],
  offline: ["disconnected", "Disconnected: no network"],
};
const SETTLE = 1000; // a reconnect after a token refresh or a room switch is quick: no flicker
let countdown = null;
let settle = null;

export function report(name, state, detail = {}) {
  if (state === "stopped") states.delete(name);
  else states.set(name, { state, detail });
  clearTimeout(settle);
  if (worst().state === "connecting" && $("connection").dataset.state === "connected") {
    settle = setTimeout(render, SETTLE);
  } else {
    render();
  }
}

function worst() {
  let result = { state: "open", detail: {} };
  for (const entry of states.values()) if (RANK[entry.state] > RANK[result.state]) result = entry;
  return result;
}

function render() {
  clearInterval(countdown);
  const { state, detail } = worst();
  const [name, words] = WORDS[state];
  const box = $("connection");
  box.dataset.state = name;
  if ($("connection-text").textContent !== words) $("connection-text").textContent = words;
  const seconds = $("connection-countdown");
  seconds.textContent = "";
  if (state === "waiting" && detail.until) {
    const tick = () => {
      const left = Math.max(0, Math.ceil((detail.until - Date.now()) / 1000));
      seconds.textContent = left ? ` in ${left} s` : "…";
    };
    tick();
    countdown = setInterval(tick, 500);
  }
}
