// The console's router: one page of HTML, a view per location hash, so that every view is a
// link that can be kept or shared, and the browser's back button works.
import { interactionPage } from "./interaction.js";
import { interactionsPage } from "./interactions.js";
import { overviewPage } from "./overview.js";
import { reportsPage } from "./reports.js";
import { sessionPage } from "./session.js";

const main = document.getElementById("main");
let current = { stop() {} };

function route() {
  current.stop();
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  main.replaceChildren();
  let page = parts[0] || "overview";
  switch (page) {
    case "interactions":
      current = interactionsPage(main, params);
      break;
    case "interaction":
      current = interactionPage(main, parts[1] || "");
      page = "interactions";
      break;
    case "session":
      current = sessionPage(main, parts[1] || "");
      page = "";
      break;
    case "reports":
      current = reportsPage(main, params);
      break;
    default:
      current = overviewPage(main);
      page = "overview";
  }
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = (main.querySelector("h1")?.textContent || "ixnstore") + " · ixnstore console";
}

// Keys: g then o, i or r goes to a page; / to the first filter; the rest is the page's.
let pendingG = false;
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) {
    if (e.key === "Escape") t.blur();
    return;
  }
  if (pendingG) {
    pendingG = false;
    const to = { o: "#/overview", i: "#/interactions", r: "#/reports" }[e.key];
    if (to) {
      location.hash = to;
      e.preventDefault();
    }
    return;
  }
  if (e.key === "g") {
    pendingG = true;
    setTimeout(() => (pendingG = false), 1500);
  } else if (e.key === "/") {
    const first = main.querySelector("input, select");
    if (first) {
      first.focus();
      e.preventDefault();
    }
  } else {
    current.key?.(e.key);
  }
});

window.addEventListener("hashchange", () => {
  route();
  main.focus({ preventScroll: true });
});
route();
