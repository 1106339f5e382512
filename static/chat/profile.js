// Profile and preferences (a dialog from the top bar): display name, avatar with a preview, theme, sound
// and desktop notifications, sharing read receipts. Each preference applies at once and is kept server-side
// (PATCH /api/v1/users/me/); the profile fields are saved with the form.

import { askPermission, permission, prepareSound } from "./alerts.js";
import { patch } from "./api.js";
import { refreshAvatars, rememberAvatar } from "./avatars.js";
import { $, announce, displayName, errorText } from "./dom.js";
import { applyTheme } from "./theme.js";

export class Profile {
  /** me: the configuration from GET /api/v1/users/me/ (with preferences); onChange(me). */
  constructor({ me, onChange }) {
    Object.assign(this, { me, onChange });
    this.dialog = $("profile-dialog");
    this.preview = null;
    applyTheme(me.preferences?.theme);
    rememberAvatar(me);
    $("profile-button").addEventListener("click", () => this.open());
    $("profile-close").addEventListener("click", () => this.dialog.close());
    $("profile-signout").addEventListener("click", () => {
      this.dialog.close();
      $("signout").click();
    });
    $("profile-form").addEventListener("submit", (event) => this.saveProfile(event));
    $("profile-avatar").addEventListener("change", () => this.showPreview());
    $("profile-avatar-remove").addEventListener("click", () => this.removeAvatar());
    for (const radio of document.querySelectorAll('input[name="theme"]')) {
      radio.addEventListener("change", () => this.setTheme(radio.value));
    }
    $("pref-sound").addEventListener("change", (event) => this.setNotification("sound", event.target.checked));
    $("pref-desktop").addEventListener("change", (event) => this.setDesktop(event.target.checked));
    $("pref-read-receipts").addEventListener("change", (event) => this.setReadReceipts(event.target.checked));
    this.dialog.addEventListener("close", () => this.clearPreview());
  }

  get preferences() {
    return this.me.preferences || {};
  }

  open() {
    this.fill();
    this.dialog.showModal();
    $("profile-display-name").focus();
  }

  fill() {
    $("profile-username").textContent = `@${this.me.username}`;
    $("profile-display-name").value = this.me.display_name || "";
    $("profile-error").textContent = "";
    this.clearPreview();
    $("profile-avatar-remove").hidden = !this.me.avatar;
    const theme = this.preferences.theme || "system";
    for (const radio of document.querySelectorAll('input[name="theme"]')) radio.checked = radio.value === theme;
    const notifications = this.preferences.notifications || {};
    $("pref-sound").checked = Boolean(notifications.sound);
    $("pref-desktop").checked = Boolean(notifications.desktop) && permission() === "granted";
    $("pref-read-receipts").checked = this.preferences.share_read_receipts !== false;
    this.desktopHelp();
  }

  /** `share_read_receipts` (default true): false leaves you out of GET /messages/{id}/readers/. */
  setReadReceipts(share) {
    this.me.preferences = { ...this.preferences, share_read_receipts: share };
    this.savePreferences({ share_read_receipts: share });
  }

  desktopHelp() {
    const state = permission();
    $("pref-desktop-help").textContent =
      state === "denied"
        ? "This browser blocks notifications from this site: allow them in the site settings first."
        : state === "unsupported"
          ? "This browser cannot show desktop notifications."
          : "For mentions and direct messages while this tab is in the background.";
  }

  // --- preferences: applied at once, then kept server-side ---------------------------------------------

  async savePreferences(changes) {
    try {
      this.me = await patch("/api/v1/users/me/", { preferences: changes });
      this.onChange(this.me);
      announce("Preferences saved.");
    } catch (error) {
      $("profile-error").textContent = errorText(error.body, error.message);
    }
  }

  setTheme(theme) {
    applyTheme(theme);
    this.me.preferences = { ...this.preferences, theme };
    this.savePreferences({ theme });
  }

  setNotification(key, value) {
    this.me.preferences = { ...this.preferences, notifications: { ...this.preferences.notifications, [key]: value } };
    if (key === "sound" && value) prepareSound();
    this.savePreferences({ notifications: { [key]: value } });
  }

  async setDesktop(wanted) {
    if (wanted) {
      const state = await askPermission(); // this runs in the click's handler, as browsers require
      if (state !== "granted") {
        $("pref-desktop").checked = false;
        this.desktopHelp();
        return;
      }
    }
    this.setNotification("desktop", wanted);
  }

  // --- profile: display name and avatar ----------------------------------------------------------------

  showPreview() {
    this.clearPreview();
    const file = $("profile-avatar").files[0];
    if (!file) return;
    this.preview = URL.createObjectURL(file);
    const image = $("profile-avatar-preview");
    image.src = this.preview;
    image.hidden = false;
  }

  clearPreview() {
    if (this.preview) URL.revokeObjectURL(this.preview);
    this.preview = null;
    $("profile-avatar-preview").hidden = true;
    $("profile-avatar-preview").removeAttribute("src");
    $("profile-avatar").value = "";
  }

  async saveProfile(event) {
    event.preventDefault();
    const form = new FormData();
    form.append("display_name", $("profile-display-name").value.trim());
    const file = $("profile-avatar").files[0];
    if (file) form.append("avatar", file, file.name);
    await this.saveForm(form, "Profile saved.");
  }

  async removeAvatar() {
    try {
      this.me = await patch("/api/v1/users/me/", { avatar: null });
      this.changed("Avatar removed.");
    } catch (error) {
      $("profile-error").textContent = errorText(error.body, error.message);
    }
  }

  async saveForm(form, done) {
    $("profile-error").textContent = "";
    try {
      this.me = await patch("/api/v1/users/me/", form);
      this.changed(done);
      this.dialog.close();
    } catch (error) {
      $("profile-error").textContent = errorText(error.body, error.message);
    }
  }

  changed(done) {
    refreshAvatars(this.me);
    this.fill();
    this.onChange(this.me);
    $("me").textContent = displayName(this.me);
    announce(done);
  }
}
