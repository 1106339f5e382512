// Desktop notifications and sounds, as the preferences say: only for mentions and direct messages, a
// desktop notification only while the tab is hidden and the browser allows it (permission is asked for
// when the person switches it on, never by itself).

const KINDS = new Set(["mention", "direct_message"]);
let audio = null;

/** The browser's permission: "granted", "denied", "default" or "unsupported". */
export function permission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

/** Ask for permission (call from a click handler). Resolves to the permission. */
export async function askPermission() {
  if (!("Notification" in window)) return "unsupported";
  if (Notification.permission !== "default") return Notification.permission;
  return Notification.requestPermission();
}

/** Sounds need an AudioContext created after a gesture of the person's: prepare one on the first. */
export function prepareSound() {
  if (audio || !window.AudioContext) return;
  try {
    audio = new AudioContext();
  } catch {
    audio = null;
  }
}

export function beep() {
  if (!audio || audio.state !== "running") return;
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = 880;
  gain.gain.setValueAtTime(0.08, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + 0.25);
}

/** A `notification` frame arrived; prefs is the preferences document; onOpen(notification) on a click. */
export function notifyDesktop(notification, prefs, onOpen) {
  if (!KINDS.has(notification.kind)) return;
  const settings = prefs?.notifications || {};
  if (settings.sound) beep();
  if (!settings.desktop || document.visibilityState !== "hidden" || permission() !== "granted") return;
  try {
    const shown = new Notification(notification.title, { body: notification.body || "", tag: `chat-${notification.id}` });
    shown.onclick = () => {
      window.focus();
      onOpen(notification);
      shown.close();
    };
  } catch {
    // some browsers allow notifications only from a service worker: nothing to show then
  }
}

document.addEventListener("pointerdown", prepareSound, { once: true });
document.addEventListener("keydown", prepareSound, { once: true });
