// The sign-in and sign-up forms (two tabs, arrow keys move between them as in a WAI-ARIA tablist).

import * as auth from "./auth.js";
import { $, errorText } from "./dom.js";

const REASONS = {
  expired: "Your session has ended. Please sign in again.",
  user_gone: "This account is no longer active.",
  signed_out: "",
};

let done = null;

function selectTab(name, focus = false) {
  for (const tab of ["signin", "signup"]) {
    const selected = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(selected));
    $(`tab-${tab}`).tabIndex = selected ? 0 : -1;
    $(`${tab}-form`).hidden = !selected;
  }
  if (focus) $(`tab-${name}`).focus();
}

async function submit(event, action, errorId) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button[type=submit]");
  $(errorId).textContent = "";
  button.disabled = true;
  try {
    await action(Object.fromEntries(new FormData(form)));
    form.reset();
    done();
  } catch (error) {
    $(errorId).textContent = errorText(error.body, "Could not reach the server. Try again.");
    form.querySelector("input").focus();
  } finally {
    button.disabled = false;
  }
}

export function setup({ signupOpen, onSignedIn }) {
  done = onSignedIn;
  if (!signupOpen) $("tab-signup").hidden = true;
  $("tab-signin").addEventListener("click", () => selectTab("signin"));
  $("tab-signup").addEventListener("click", () => selectTab("signup"));
  for (const id of ["tab-signin", "tab-signup"]) {
    $(id).addEventListener("keydown", (event) => {
      if (!["ArrowLeft", "ArrowRight"].includes(event.key) || !signupOpen) return;
      selectTab(id === "tab-signin" ? "signup" : "signin", true);
    });
  }
  $("signin-form").addEventListener("submit", (event) =>
    submit(event, ({ username, password }) => auth.signIn(username.trim(), password), "signin-error"),
  );
  $("signup-form").addEventListener("submit", (event) =>
    submit(event, (fields) => auth.signUp({ ...fields, username: fields.username.trim() }), "signup-error"),
  );
}

export function show(reason = "signed_out") {
  $("app").hidden = true;
  $("auth-screen").hidden = false;
  $("signin-error").textContent = REASONS[reason] || "";
  selectTab("signin");
  $("signin-username").focus();
}

export function hide() {
  $("auth-screen").hidden = true;
}
