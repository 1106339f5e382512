// Moderating a room from its dialog (roomsettings.js, members.js), for the room's owners and moderators
// and the workspace's admins and moderators: ban or mute a member for a while with a reason
// (POST /rooms/{slug}/bans/ or /mutes/), the bans and mutes in force with "Lift" (DELETE .../{user_id}/),
// and the announcement-room switch (PATCH /rooms/{slug}/ {post_policy}). The server decides the finer
// rules (only workspace moderators ban a room's owner, nobody bans an admin): its answer is shown as is.

import { all, del, patch, post } from "./api.js";
import { announce, displayName, errorText, h } from "./dom.js";
import { makeDialog } from "./ui.js";

const HOUR = 3600e3;
const DURATIONS = {
  mute: [[HOUR / 6, "10 minutes"], [HOUR, "1 hour"], [8 * HOUR, "8 hours"], [24 * HOUR, "1 day"], [168 * HOUR, "1 week"]],
  ban: [[24 * HOUR, "1 day"], [168 * HOUR, "1 week"], [720 * HOUR, "30 days"], [0, "For good"]],
};
const until = (time) => (time ? `until ${new Date(time).toLocaleString()}` : "for good");

export class Moderation {
  constructor(app) {
    this.app = app;
    this.target = null; // {room, user, done}
    const { dialog, body, heading } = makeDialog("moderate-dialog", "Moderate");
    Object.assign(this, { dialog, heading });
    const choice = (value, label, help) => h("label", { class: "check" },
      h("input", { type: "radio", name: "moderate-kind", value, onchange: () => this.kindChanged() }), ` ${label} `, h("span", { class: "muted" }, help));
    this.kinds = h("fieldset", { class: "choices" }, h("legend", {}, "What"),
      choice("mute", "Mute", "(they keep reading, but cannot post)"), choice("ban", "Ban", "(removed from the room; they cannot come back)"));
    this.duration = h("select", { id: "moderate-duration" });
    this.reason = h("input", { id: "moderate-reason", maxlength: 500, autocomplete: "off", "aria-describedby": "moderate-reason-help" });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.submit = h("button", { type: "submit", class: "danger" }, "Mute");
    body.append(h("form", { class: "stack", onsubmit: (event) => this.send(event) }, this.kinds,
      h("label", { for: "moderate-duration" }, "For how long"), this.duration,
      h("label", { for: "moderate-reason" }, "Reason ", h("span", { class: "optional" }, "(optional)")), this.reason,
      h("p", { id: "moderate-reason-help", class: "help" }, "Kept in the audit log with your name."),
      this.error, h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"), this.submit)));
  }

  /** The ban/mute dialog for one member; done() runs after a success (to reload the lists). */
  open(room, user, done) {
    this.target = { room, user, done };
    this.heading.textContent = `Moderate ${displayName(user)}`;
    this.kinds.querySelector("input[value=mute]").checked = true;
    this.reason.value = "";
    this.error.textContent = "";
    this.kindChanged();
    this.dialog.showModal();
    this.kinds.querySelector("input[value=mute]").focus();
  }

  get kind() {
    return this.kinds.querySelector("input:checked")?.value || "mute";
  }

  kindChanged() {
    const kind = this.kind;
    this.duration.replaceChildren(...DURATIONS[kind].map(([value, text]) => h("option", { value: String(value) }, text)));
    this.submit.textContent = `${kind === "ban" ? "Ban" : "Mute"} ${this.target ? displayName(this.target.user) : ""}`.trim();
  }

  async send(event) {
    event.preventDefault();
    const { room, user, done } = this.target;
    const kind = this.kind;
    const span = Number(this.duration.value);
    const body = { user: user.id, reason: this.reason.value.trim() };
    if (span) body.until = new Date(Date.now() + span).toISOString();
    try {
      await post(`/api/v1/rooms/${encodeURIComponent(room.slug)}/${kind === "ban" ? "bans" : "mutes"}/`, body);
      this.dialog.close();
      announce(`${displayName(user)} ${kind === "ban" ? "is banned" : "is muted"} ${until(body.until)}.`);
      done();
    } catch (error) {
      this.error.textContent = errorText(error.body, error.message);
    }
  }

  /** The room dialog's "Moderation" section: the announcement switch, then the bans and mutes in force. */
  section(room) {
    const slug = encodeURIComponent(room.slug);
    const list = h("ul", { class: "member-list sanctions", "aria-label": "Bans and mutes in force" });
    const status = h("p", { class: "help", role: "status" });
    const load = async () => {
      try {
        const [bans, mutes] = await Promise.all([all(`/api/v1/rooms/${slug}/bans/?page_size=100`), all(`/api/v1/rooms/${slug}/mutes/?page_size=100`)]);
        const items = [...bans.map((ban) => this.sanction(room, "ban", ban, load)), ...mutes.map((mute) => this.sanction(room, "mute", mute, load))];
        list.replaceChildren(...items);
        if (!items.length) list.append(h("li", { class: "empty" }, "Nobody is banned or muted here."));
      } catch (error) {
        status.textContent = errorText(error.body, error.message);
      }
    };
    this.reloadSanctions = load;
    load();
    const announcement = h("input", { type: "checkbox", id: "room-post-policy", checked: room.post_policy === "moderators" });
    announcement.addEventListener("change", async () => {
      const policy = announcement.checked ? "moderators" : "everyone";
      try {
        const updated = await patch(`/api/v1/rooms/${slug}/`, { post_policy: policy });
        this.app.sidebar.addRoom(updated);
        status.textContent = policy === "moderators" ? "Only moderators post here now." : "Everyone posts here again.";
      } catch (error) {
        announcement.checked = !announcement.checked;
        status.textContent = errorText(error.body, error.message);
      }
    });
    return h("section", { class: "stack", "aria-labelledby": "room-moderation-heading" },
      h("h3", { id: "room-moderation-heading" }, "Moderation"),
      h("label", { class: "check" }, announcement, " Announcement room: only moderators post"), status,
      h("h4", {}, "Banned and muted"), list);
  }

  sanction(room, kind, { user, until: end, reason }, reload) {
    const what = kind === "ban" ? "Banned" : "Muted";
    const lift = async () => {
      try {
        await del(`/api/v1/rooms/${encodeURIComponent(room.slug)}/${kind === "ban" ? "bans" : "mutes"}/${user.id}/`);
        announce(`${kind === "ban" ? "Ban" : "Mute"} of ${displayName(user)} lifted.`);
      } catch (error) {
        announce(errorText(error.body, error.message));
      }
      reload();
    };
    return h("li", { class: "member sanction", dataset: { user: user.id, kind } },
      h("span", { class: "member-name" }, displayName(user), h("span", { class: "muted" }, ` @${user.username}`)),
      h("span", { class: "tag" }, `${what} ${until(end)}`), reason ? h("span", { class: "muted sanction-reason" }, reason) : "",
      h("button", { type: "button", class: "link-button", onclick: lift }, `Lift the ${kind} of ${displayName(user)}`));
  }
}
