// On every page: the theme toggle, and (signed in) the alert toasts from /ws/alerts/.
import { el } from "@mp/fmt.js";
import { LiveSocket } from "@mp/live.js";

const root = document.documentElement;
function currentTheme() {
  return root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
}
export function onThemeChange(callback) {
  addEventListener("mp-theme", () => callback(currentTheme()));
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => callback(currentTheme()));
}
export { currentTheme };

const toggle = document.getElementById("theme-toggle");
function label() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  toggle.setAttribute("aria-label", `Switch to ${next} theme`);
  toggle.title = `Switch to ${next} theme`;
}
toggle.addEventListener("click", () => {
  root.dataset.theme = currentTheme() === "dark" ? "light" : "dark";
  try { localStorage.setItem("mp-theme", root.dataset.theme); } catch { /* private mode */ }
  label();
  dispatchEvent(new Event("mp-theme"));
});
label();

export function toast(text, { timeout = 8000 } = {}) {
  const node = el("div", { class: "toast", text });
  document.getElementById("toasts").append(node);
  setTimeout(() => node.remove(), timeout);
  return node;
}

// Signed in: every page listens to the user's alert events and shows each as a toast;
// the alerts page also hears them as "mp-alert" events.
if (document.body.dataset.signedIn === "true") {
  new LiveSocket("/ws/alerts/", {
    onMessage: (message) => {
      if (message.type !== "alert") return;
      const event = message.event;
      toast(event.message || `${event.symbol}: alert fired`);
      dispatchEvent(new CustomEvent("mp-alert", { detail: event }));
    },
  }).start();
}
