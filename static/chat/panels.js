// Panels that open over the page (the notifications dialog, the rooms drawer on narrow screens):
// a toggle button with aria-expanded, Escape or a click outside closes, focus goes back to the toggle.

const open = new Set();

export class Panel {
  constructor({ panel, toggle, scrim = null, focusOnOpen = null, onOpen = () => {} }) {
    Object.assign(this, { panel, toggle, scrim, focusOnOpen, onOpen });
    toggle.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    scrim?.addEventListener("click", () => this.close());
    // A click or tap anywhere else closes it, as a popover would.
    document.addEventListener("pointerdown", (event) => {
      if (this.isOpen && !panel.contains(event.target) && !toggle.contains(event.target)) {
        this.close({ restoreFocus: false });
      }
    });
  }

  get isOpen() {
    return this.panel.classList.contains("open");
  }

  open() {
    for (const other of open) if (other !== this) other.close({ restoreFocus: false });
    open.add(this);
    this.panel.hidden = false;
    this.panel.classList.add("open");
    this.toggle.setAttribute("aria-expanded", "true");
    if (this.scrim) this.scrim.hidden = false;
    this.onOpen();
    (this.focusOnOpen?.() || this.panel).focus?.();
  }

  close({ restoreFocus = true } = {}) {
    if (!this.isOpen) return;
    open.delete(this);
    this.panel.classList.remove("open");
    if (this.panel.getAttribute("role") === "dialog") this.panel.hidden = true;
    this.toggle.setAttribute("aria-expanded", "false");
    if (this.scrim) this.scrim.hidden = true;
    if (restoreFocus) this.toggle.focus();
  }
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented || !open.size) return;
  if (document.querySelector("dialog[open]")) return; // the dialog on top closes first (by itself)
  const last = [...open].pop();
  last.close();
  event.preventDefault();
});
