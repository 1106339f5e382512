// Avatars: a person's picture when they have one, otherwise their initials on a colour that stays the
// same for them everywhere (chosen from the user id, so it survives renames). Pictures of other people
// are looked up once per person (GET /api/v1/users/<id>/) and shared by every message of theirs.

import { get } from "./api.js";
import { displayName, h } from "./dom.js";

const COLOURS = 8; // .avatar-c0 … .avatar-c7 in messages.css, each with white text at 4.5:1 or more
const known = new Map(); // user id -> avatar URL or null
const asked = new Map(); // user id -> Promise

export function initials(user) {
  const name = displayName(user).replace(/^@/, "").trim();
  const words = name.split(/[\s._-]+/u).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [name];
  return letters.map((word) => [...word][0] || "").join("").slice(0, 2).toUpperCase() || "?";
}

export function colourOf(user) {
  return user ? Math.abs(Number(user.id) * 2654435761) % 2 ** 32 % COLOURS : 0;
}

/** Remember what we already know (our own profile, a user from a list). */
export function rememberAvatar(user) {
  if (user && "avatar" in user) known.set(user.id, user.avatar || null);
}

function withPicture(element, url) {
  if (!url || !url.startsWith("/")) return;
  element.replaceChildren(h("img", { src: url, alt: "", loading: "lazy", decoding: "async" }));
  element.classList.add("has-picture");
}

async function lookUp(id) {
  if (!asked.has(id)) {
    asked.set(
      id,
      get(`/api/v1/users/${id}/`).then(
        (user) => known.set(id, user.avatar || null),
        () => known.set(id, null),
      ),
    );
  }
  await asked.get(id);
  return known.get(id);
}

/** A decorative avatar (the name is always next to it as text). */
export function avatarFor(user, { size = "" } = {}) {
  const element = h("span", { class: `avatar avatar-c${colourOf(user)} ${size}`.trim(), "aria-hidden": "true" }, user ? initials(user) : "?");
  if (!user) return element;
  element.dataset.user = user.id;
  if (user.avatar !== undefined) rememberAvatar(user);
  if (known.has(user.id)) withPicture(element, known.get(user.id));
  else lookUp(user.id).then((url) => withPicture(element, url));
  return element;
}

/** After our own avatar changed: every avatar of ours on the page follows. */
export function refreshAvatars(user) {
  rememberAvatar(user);
  for (const element of document.querySelectorAll(`.avatar[data-user="${Number(user.id)}"]`)) {
    element.classList.remove("has-picture");
    element.replaceChildren(initials(user));
    withPicture(element, user.avatar);
  }
}
