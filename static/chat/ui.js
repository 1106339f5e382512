// Small building blocks for the feature modules: a modal dialog with a heading and a close button, and
// a top-bar button. Dialogs use <dialog> with showModal: focus stays inside, Escape closes.

import { $, h } from "./dom.js";

const CLOSE_ICON = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7l-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z";

export function icon(path) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const shape = document.createElementNS(ns, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

/** A modal dialog appended to the body: {dialog, body, heading}. */
export function makeDialog(id, title, { wide = false } = {}) {
  const heading = h("h2", { id: `${id}-title` }, title);
  const body = h("div", { class: "dialog-body" });
  const close = h("button", { type: "button", class: "icon-button", onclick: () => dialog.close() }, icon(CLOSE_ICON),
    h("span", { class: "visually-hidden" }, "Close"));
  const dialog = h("dialog", { id, class: wide ? "dialog wide" : "dialog", "aria-labelledby": `${id}-title` },
    h("div", { class: "dialog-head" }, heading, close), body);
  document.body.append(dialog);
  return { dialog, body, heading };
}

/** A button in the top bar, before the connection status. */
export function topbarButton(id, label, path, onClick) {
  const button = h("button", { type: "button", id, class: "icon-button", title: label, onclick: onClick }, icon(path),
    h("span", { class: "visually-hidden" }, label));
  $("connection").before(button);
  return button;
}

/** Focusable messages toolbar button for a feature (features.js routes its clicks). */
export function featureButton(feature, label, text, extra = {}) {
  return h("button", { type: "button", class: "msg-action", dataset: { feature, ...extra }, title: label, "aria-label": label }, text);
}
