// The open room's menu (the top bar's gear): its name, topic and archived state for those allowed
// (owners and administrators; moderators the topic), one's notification level and mute, the member
// list (members.js), moderation (moderation.js: bans, mutes, announcement room), leaving, and deleting it.

import { del, get, patch } from "./api.js";
import { announce, errorText, h } from "./dom.js";
import { Members } from "./members.js";
import { Moderation } from "./moderation.js";
import { roomHref, roomLabel } from "./sidebar.js";
import { makeDialog, topbarButton } from "./ui.js";

const GEAR = "M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.6 7.6 0 0 0-1.7-1L15 3h-4l-.4 2.7a7.6 7.6 0 0 0-1.7 1l-2.5-1-2 3.5L4.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7.6 7.6 0 0 0 1.7 1L11 21h4l.4-2.7a7.6 7.6 0 0 0 1.7-1l2.5 1 2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z";
const MUTES = [["", "Not muted"], ["1", "1 hour"], ["8", "8 hours"], ["24", "1 day"], ["168", "1 week"]];

export class RoomMenu {
  constructor(app, rooms) {
    Object.assign(this, { app, rooms });
    const { dialog, body, heading } = makeDialog("room-dialog", "Room", { wide: true });
    Object.assign(this, { dialog, body, heading });
    this.moderation = new Moderation(app);
    this.members = new Members(app, this.moderation);
    topbarButton("room-menu-button", "Room settings and members", GEAR, () => this.open());
  }

  async open() {
    const slug = this.app.slug;
    if (!slug) return;
    this.body.replaceChildren(h("p", { class: "empty" }, "Loading…"));
    this.dialog.showModal();
    try {
      const room = await get(`/api/v1/rooms/${encodeURIComponent(slug)}/`);
      this.app.sidebar.addRoom(room);
      this.render(room);
    } catch (error) {
      this.body.replaceChildren(h("p", { class: "form-error" }, errorText(error.body, error.message)));
    }
  }

  render(room) {
    this.heading.textContent = roomLabel(room);
    const staff = Boolean(this.app.me.is_staff);
    const owner = room.role === "owner" || staff;
    const topicOnly = !owner && room.role === "moderator";
    // Workspace admins and moderators moderate every room (the server checks again).
    const moderator = owner || room.role === "moderator" || ["admin", "moderator"].includes(this.app.me.role);
    const parts = [];
    if (room.kind !== "direct") parts.push(this.aboutForm(room, owner, topicOnly));
    if (room.is_member || room.kind === "public") parts.push(this.notifyForm(room));
    if (room.kind !== "direct") parts.push(this.members.section(room, { owner, manager: moderator, moderator }));
    if (room.kind !== "direct" && moderator) parts.push(this.moderation.section(room));
    parts.push(this.dangerZone(room, owner));
    this.body.replaceChildren(...parts);
  }

  aboutForm(room, owner, topicOnly) {
    const name = h("input", { id: "room-name-input", value: room.name, maxlength: 100, disabled: !owner });
    const topic = h("input", { id: "room-topic-input", value: room.topic || "", maxlength: 250, disabled: !owner && !topicOnly });
    const archived = h("input", { type: "checkbox", id: "room-archived-input", checked: room.archived, disabled: !owner || room.slug === "general" });
    const error = h("p", { class: "form-error", role: "alert" });
    const editable = owner || topicOnly;
    const form = h("form", { class: "stack", "aria-labelledby": "room-about-heading", onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const changes = owner ? { name: name.value.trim(), topic: topic.value.trim(), archived: archived.checked } : { topic: topic.value.trim() };
      try {
        const updated = await patch(`/api/v1/rooms/${encodeURIComponent(room.slug)}/`, changes);
        this.app.sidebar.addRoom(updated);
        this.rooms.showHeader();
        this.render(updated);
        announce("Room settings saved.");
      } catch (failure) {
        error.textContent = errorText(failure.body, failure.message);
      }
    } },
    h("h3", { id: "room-about-heading" }, "About"),
    h("label", { for: "room-name-input" }, "Name"), name,
    h("label", { for: "room-topic-input" }, "Topic"), topic,
    h("label", { class: "check" }, archived, " Archived: read only for everyone"),
    editable ? "" : h("p", { class: "help" }, "Only the room's owners can change these."),
    error,
    editable ? h("div", { class: "dialog-actions" }, h("button", { type: "submit", class: "primary" }, "Save")) : "");
    return form;
  }

  notifyForm(room) {
    const level = h("select", { id: "room-notify-input" },
      [["all", "All mentions (and every direct message)"], ["mentions", "Only mentions of me"], ["none", "Nothing"]]
        .map(([value, text]) => h("option", { value, selected: (room.notify || "all") === value }, text)));
    const muted = room.muted_until && new Date(room.muted_until) > new Date();
    const mute = h("select", { id: "room-mute-input" }, MUTES.map(([value, text]) => h("option", { value }, text)));
    const status = h("p", { class: "help", role: "status" }, muted ? `Muted until ${new Date(room.muted_until).toLocaleString()}.` : "");
    const save = async (body) => {
      try {
        const updated = await patch(`/api/v1/rooms/${encodeURIComponent(room.slug)}/membership/`, body);
        this.app.sidebar.addRoom(updated);
        status.textContent = updated.muted_until && new Date(updated.muted_until) > new Date()
          ? `Muted until ${new Date(updated.muted_until).toLocaleString()}.` : "Saved.";
      } catch (failure) {
        status.textContent = errorText(failure.body, failure.message);
      }
    };
    level.addEventListener("change", () => save({ notify: level.value }));
    mute.addEventListener("change", () => save({ muted_until: mute.value ? new Date(Date.now() + Number(mute.value) * 3600e3).toISOString() : null }));
    return h("section", { class: "stack", "aria-labelledby": "room-notify-heading" }, h("h3", { id: "room-notify-heading" }, "Notifications"),
      h("label", { for: "room-notify-input" }, "Notify me about"), level, h("label", { for: "room-mute-input" }, "Mute"), mute, status);
  }

  dangerZone(room, owner) {
    const error = h("p", { class: "form-error", role: "alert" });
    const leave = room.is_member && room.kind !== "direct"
      ? h("button", { type: "button", id: "leave-room", onclick: async () => {
        try {
          await this.rooms.leave(room.slug);
          this.dialog.close();
        } catch (failure) {
          error.textContent = errorText(failure.body, failure.message);
        }
      } }, "Leave room")
      : "";
    const remove = owner && room.kind !== "direct" && room.slug !== "general"
      ? h("button", { type: "button", class: "danger", onclick: async (event) => {
        if (event.currentTarget.dataset.confirm !== "1") {
          event.currentTarget.dataset.confirm = "1";
          event.currentTarget.textContent = "Delete for everyone, with its messages?";
          return;
        }
        try {
          await del(`/api/v1/rooms/${encodeURIComponent(room.slug)}/`);
          this.dialog.close();
          this.app.sidebar.removeRoom(room.slug);
          location.hash = roomHref("general");
        } catch (failure) {
          error.textContent = errorText(failure.body, failure.message);
        }
      } }, "Delete room")
      : "";
    return h("div", { class: "dialog-actions" }, error, leave, remove);
  }
}
