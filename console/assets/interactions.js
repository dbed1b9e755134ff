// Interactions: the list with filters, a page at a time from the reports (oldest first, so
// the ones waiting longest lead), and above it the ones that arrive while the page is open,
// from the event stream. Rows change in place; arrivals go into a box of fixed height, so
// nothing on the page moves when they come.
import {
  api, debounce, follow, fmt, h, ixnLink, lastPubSeq, limiter, row, section, sessionLink, setCells, status, table,
} from "./lib.js";

const PAGE = 50;
const MAX_ARRIVALS = 200;
const HEADERS = ["interaction", "session", "media", "type", "state", "node", "parties", "created"];

export function interactionsPage(main, params) {
  const f = {
    state: params.get("state") || "live",
    media: params.get("media") || "",
    node: params.get("node") || "",
    resource: params.get("resource") || "",
    key: params.get("key") || "",
  };
  const input = (name, label) =>
    h("label", {}, label, h("input", { name, value: f[name], spellcheck: "false", autocomplete: "off" }));
  const form = h("form", { class: "filters", id: "filters", role: "search" },
    h("label", {}, "state", h("select", { name: "state" },
      ["live", "all", "deleted"].map((s) => h("option", { value: s, selected: s === f.state }, s)))),
    input("media", "media"), input("node", "node"), input("resource", "resource"), input("key", "user data key"),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    location.hash = "#/interactions?" + q;
  });

  let paused = false;
  let held = 0;
  const pauseButton = h("button", { type: "button", id: "pause", "aria-pressed": "false" }, "Pause");
  const heldNote = h("span", { class: "muted", id: "held" }, "");
  const togglePause = () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      for (const tr of arrivals.tbody.querySelectorAll("tr.held")) tr.classList.remove("held");
      held = 0;
    }
    heldNote.textContent = paused ? "paused: new rows are kept back" : "";
  };
  pauseButton.addEventListener("click", togglePause);

  const arrivals = table("arrivals", "Arrived since this page opened (newest first)", HEADERS, "rows");
  const list = table("interactions", "Interactions", HEADERS, "rows");
  const pager = h("div", { class: "pager" });
  main.append(
    h("h1", {}, "Interactions"),
    form,
    section("Arriving live", h("div", { class: "toolbar" }, pauseButton, heldNote),
      h("div", { class: "arrivals" }, arrivals.table)),
    section("List", list.table, pager),
  );

  const rows = new Map(); // session/interaction → its rows (in the list, in the arrivals)
  const key = (sid, iid) => sid + "\u0000" + iid;
  const cells = (ix, node) => [ixnLink(ix.interaction_id), sessionLink(ix.session_id), ix.media, ix.type,
    ix.state + (ix.controlled ? " · controlled" : ""), node || "–",
    ix.parties ? ix.parties.map((p) => `${p.resource} ${p.state}`).join(", ") || "none" : "–", fmt.time(ix.created_at)];
  const addRow = (tbody, ix, node, first) => {
    const tr = row(cells(ix, node), { dataset: { sid: ix.session_id, iid: ix.interaction_id } });
    if (ix.state === "deleted") tr.classList.add("ended");
    if (first) tbody.prepend(tr);
    else tbody.append(tr);
    const k = key(ix.session_id, ix.interaction_id);
    if (!rows.has(k)) rows.set(k, []);
    rows.get(k).push(tr);
    return tr;
  };

  // The list: a page of the reports, with the filters the reports take.
  const query = (after) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (f.state === "live" || f.state === "deleted") q.set("state", f.state);
    if (f.media) q.set("media", f.media);
    if (f.node) q.set("node_id", f.node);
    if (f.resource) q.set("resource", f.resource);
    if (f.key) q.set("udata_key", f.key);
    if (after) q.set("after", after);
    return "/v1/reports/interactions?" + q;
  };
  const pages = [""];
  const loadPage = async (i) => {
    const p = await api(query(pages[i]));
    list.tbody.replaceChildren();
    for (const [k, trs] of rows) rows.set(k, trs.filter((tr) => tr.isConnected));
    for (const ix of p.interactions) addRow(list.tbody, ix, ix.owner_node);
    if (p.interactions.length === 0) list.tbody.append(h("tr", {}, h("td", { colspan: HEADERS.length, class: "muted" }, "None.")));
    if (p.next) pages[i + 1] = p.next;
    pager.replaceChildren(
      h("button", { type: "button", disabled: i === 0, onclick: () => loadPage(0) }, "First page"),
      h("button", { type: "button", disabled: i === 0, onclick: () => loadPage(i - 1) }, "Previous page"),
      h("span", { class: "muted" }, ` page ${i + 1} `),
      h("button", { type: "button", disabled: !p.next, onclick: () => loadPage(i + 1) }, "Next page"),
    );
  };

  // Live: an interaction added that passes the filters joins the arrivals; any event of one
  // shown updates its rows. Each is read again (GET .../interactions/{iid}), a few at a time.
  const run = limiter(4);
  const pendingReads = new Map();
  const passes = (ix, node) =>
    (!f.media || ix.media === f.media) && (!f.node || node === f.node) &&
    (!f.resource || ix.parties.some((p) => p.resource === f.resource)) &&
    (!f.key || Object.hasOwn(ix.udata, f.key)) && (f.state !== "deleted");
  const read = (sid, iid, node, added) => {
    const k = key(sid, iid);
    if (pendingReads.has(k)) return pendingReads.get(k)();
    const go = debounce(100, () => run(async () => {
      pendingReads.delete(k);
      const ix = await api(`/v1/sessions/${encodeURIComponent(sid)}/interactions/${encodeURIComponent(iid)}`).catch(() => null);
      if (!ix) return;
      const shown = rows.get(k)?.filter((tr) => tr.isConnected) || [];
      if (shown.length === 0 && added && passes(ix, node)) {
        const tr = addRow(arrivals.tbody, ix, node, true);
        if (paused) {
          tr.classList.add("held");
          held++;
          heldNote.textContent = `paused: ${held} new kept back`;
        }
        while (arrivals.tbody.rows.length > MAX_ARRIVALS) arrivals.tbody.lastElementChild.remove();
        return;
      }
      for (const tr of shown) {
        setCells(tr, cells(ix, node || tr.children[5].textContent));
        tr.classList.toggle("ended", ix.state === "deleted");
      }
    }));
    pendingReads.set(k, go);
    go();
  };

  let stop = () => {};
  let stopped = false;
  (async () => {
    try {
      const after = await lastPubSeq();
      await loadPage(0);
      if (stopped) return;
      stop = follow({ nodeId: f.node || undefined, after }, (e) => {
        const iid = e.data?.interactionid;
        if (!iid) return;
        const known = rows.has(key(e.session_id, iid));
        if (known || e.name === "interaction.added" || e.name === "interaction.restored") {
          read(e.session_id, iid, e.node_id, !known);
        }
      });
    } catch (e) {
      status(String(e.message || e), false);
    }
  })();
  return {
    stop: () => {
      stopped = true;
      stop();
    },
    key: (k) => {
      if (k === "p") togglePause();
    },
  };
}
