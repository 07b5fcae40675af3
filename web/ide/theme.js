// The IDE's theme: light or dark as the user chose, or the system's until they choose (and
// as the system's changes). ide.css styles `:root[data-theme="dark"]` only; theme-boot.js
// sets the attribute from a classic script in <head>, so the first paint has it already.

export const THEME_KEY = "atoll-ide-theme";
const SYSTEM_DARK = "(prefers-color-scheme: dark)";

/** The theme a choice ("light", "dark" or "system") shows: "light" or "dark". */
export function resolveTheme(choice, systemDark) {
  if (choice === "light" || choice === "dark") return choice;
  return systemDark ? "dark" : "light";
}

/** The user's choice: "light", "dark" or "system" (also when storage is unavailable). */
export function storedTheme() {
  let choice = null;
  try {
    choice = localStorage.getItem(THEME_KEY);
  } catch {
    // Storage refused (a privacy setting): the system's theme.
  }
  return choice === "light" || choice === "dark" ? choice : "system";
}

/** Show the theme of `choice` on the page. */
export function applyTheme(choice) {
  document.documentElement.dataset.theme = resolveTheme(choice, matchMedia(SYSTEM_DARK).matches);
}

/** Show and remember the user's choice. */
export function chooseTheme(choice) {
  applyTheme(choice);
  try {
    localStorage.setItem(THEME_KEY, choice);
  } catch {
    // Not remembered: the next page load shows the system's theme.
  }
}

/** Follow the system's theme while the user has not chosen one. */
export function followSystem() {
  matchMedia(SYSTEM_DARK).addEventListener("change", () => {
    if (storedTheme() === "system") applyTheme("system");
  });
}
