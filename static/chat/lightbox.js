// The image viewer: a click on a picture's thumbnail opens the full image in a modal dialog (loaded only
// then); Escape, the Close button or a click on the backdrop closes it, and focus returns to the picture.

import { $, formatSize } from "./dom.js";

export class Lightbox {
  constructor() {
    this.dialog = $("lightbox");
    this.opener = null;
    $("messages").addEventListener("click", (event) => {
      const link = event.target.closest("a.image-link");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      this.open(link);
    });
    $("lightbox-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close(); // the backdrop
    });
    this.dialog.addEventListener("close", () => {
      $("lightbox-image").removeAttribute("src");
      this.opener?.focus();
    });
  }

  open(link) {
    this.opener = link;
    const url = link.getAttribute("href");
    const name = link.dataset.name || "image";
    const image = $("lightbox-image");
    image.alt = name;
    $("lightbox-status").textContent = "Loading…";
    image.onload = () => ($("lightbox-status").textContent = "");
    image.onerror = () => ($("lightbox-status").textContent = "The image could not be loaded.");
    image.src = `${url}?inline=1`;
    $("lightbox-title").textContent = `${name} (${formatSize(Number(link.dataset.size) || 0)})`;
    const download = $("lightbox-download");
    download.href = url;
    download.setAttribute("download", name);
    this.dialog.showModal();
    $("lightbox-close").focus();
  }
}
