// The colour theme: light, dark or the system's, from the server-side preferences. The last choice is
// also kept in localStorage so a reload paints in the right scheme before the profile has loaded.

const media = window.matchMedia("(prefers-color-scheme: dark)");
const KEY = "chat-theme";
const THEMES = new Set(["system", "light", "dark"]);
let chosen = "system";

function remembered() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Apply a theme at once (the page's colours are variables keyed on html[data-theme]). */
export function applyTheme(theme) {
  chosen = THEMES.has(theme) ? theme : "system";
  const resolved = chosen === "system" ? (media.matches ? "dark" : "light") : chosen;
  document.documentElement.dataset.theme = resolved;
  document.documentElement.dataset.themeChoice = chosen;
  try {
    localStorage.setItem(KEY, chosen);
  } catch {
    // private browsing: the server's preference applies after each load
  }
}

export const currentTheme = () => chosen;

media.addEventListener("change", () => {
  if (chosen === "system") applyTheme("system");
});

applyTheme(remembered() || "system");
