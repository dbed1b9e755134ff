// Overview: the cluster at a glance, from GET /v1/overview (one cheap query per part), read
// again twice a second. Cells are updated in place, so nothing moves as numbers change.
import { api, every, fmt, h, row, section, setCells, status, table } from "./lib.js";

const POLL_MS = 500;
const STATES = ["added", "present"];

export function overviewPage(main) {
  const tiles = h("div", { class: "tiles", id: "tiles" });
  const tile = (key, label) => {
    const value = h("span", { class: "value", id: "tile-" + key }, "–");
    tiles.append(h("div", { class: "tile" }, value, h("span", { class: "label" }, label)));
    return value;
  };
  const t = {
    live: tile("live", "live interactions"),
    active: tile("active", "active sessions"),
    orphaned: tile("orphaned", "orphaned sessions"),
    pending: tile("pending", "pending requests"),
    lag: tile("lag", "publication lag"),
    unpublished: tile("unpublished", "events not yet published"),
  };
  const ixns = table("ov-interactions", "Live interactions by media and state", ["media", ...STATES, "total"], "numbers");
  const nodes = table("ov-nodes", "Routing nodes", ["node", "lease", "load", "sessions / capacity", "lease ends", "last heartbeat"]);
  const pub = h("p", { id: "ov-publication", class: "muted" }, "–");
  main.append(
    h("h1", {}, "Overview"),
    tiles,
    h("div", { class: "columns" }, section("Interactions", ixns.table), section("Nodes", nodes.table)),
    section("Publication", pub),
  );

  const mediaRows = new Map();
  const nodeRows = new Map();
  const totalRow = row(["total", ...STATES.map(() => "0"), "0"], { class: "total" });
  ixns.tbody.append(totalRow);

  const refresh = async () => {
    const o = await api("/v1/overview");
    const now = new Date(o.at).getTime();
    const byMedia = new Map();
    for (const c of o.interactions) {
      if (!byMedia.has(c.media)) byMedia.set(c.media, {});
      byMedia.get(c.media)[c.state] = c.count;
    }
    const totals = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const media of [...new Set([...mediaRows.keys(), ...byMedia.keys()])].sort()) {
      const counts = byMedia.get(media) || {};
      let tr = mediaRows.get(media);
      if (!tr) {
        tr = h("tr", { dataset: { media } }, h("th", { scope: "row" }, media),
          STATES.map((s) => h("td", { id: `ov-${media}-${s}` }, "0")), h("td", { id: `ov-${media}-total` }, "0"));
        mediaRows.set(media, tr);
        // In media order, before the total: a new media is a rare event, not a live row.
        const after = [...mediaRows.keys()].sort().filter((m) => m > media).map((m) => mediaRows.get(m))[0];
        ixns.tbody.insertBefore(tr, after || totalRow);
      }
      const values = STATES.map((s) => counts[s] || 0);
      values.forEach((v, i) => (totals[STATES[i]] += v));
      setCells(tr, [media, ...values.map(fmt.number), fmt.number(values.reduce((a, b) => a + b, 0))]);
    }
    const all = Object.values(totals).reduce((a, b) => a + b, 0);
    setCells(totalRow, ["total", ...STATES.map((s) => fmt.number(totals[s])), fmt.number(all)]);

    for (const n of o.nodes) {
      let tr = nodeRows.get(n.node_id);
      if (!tr) {
        tr = h("tr", { dataset: { node: n.node_id } }, [0, 1, 2, 3, 4, 5].map(() => h("td")));
        nodeRows.set(n.node_id, tr);
        nodes.tbody.append(tr);
      }
      const lapsed = new Date(n.lease_expires_at).getTime() <= now;
      const lease = n.alive ? "alive" : lapsed ? "lease lapsed" : "left";
      const load = n.capacity > 0 ? n.owned / n.capacity : 0;
      const bar = h("span", { class: "bar", role: "img", "aria-label": fmt.percent(load) + " of capacity" },
        h("span", { style: `width:${Math.min(100, load * 100).toFixed(1)}%`, class: load > 0.9 ? "hot" : "" }));
      setCells(tr, [n.node_id, lease, bar, `${fmt.number(n.owned)} / ${fmt.number(n.capacity)}`,
        fmt.ago(n.lease_expires_at, now), fmt.ago(n.heartbeat_at, now)]);
      tr.className = n.alive ? "" : "down";
      tr.children[2].dataset.load = load.toFixed(3);
    }
    for (const [id, tr] of nodeRows) if (!o.nodes.some((n) => n.node_id === id)) tr.className = "gone";

    t.live.textContent = fmt.number(all);
    t.active.textContent = fmt.number(o.sessions.active);
    t.orphaned.textContent = fmt.number(o.sessions.orphaned);
    t.orphaned.parentElement.classList.toggle("warn", o.sessions.orphaned > 0);
    t.pending.textContent = fmt.number(o.requests.pending);
    const p = o.publication;
    t.lag.textContent = fmt.ms(p.lag_ms);
    t.lag.parentElement.classList.toggle("warn", p.lag_ms > 1000);
    t.unpublished.textContent = fmt.number(p.unpublished) + (p.unpublished >= 100000 ? "+" : "");
    pub.textContent = `Last publication number ${fmt.number(p.last_pub_seq)}, published ${fmt.ago(p.last_published_at, now)}; ` +
      `the dispatcher last moved ${fmt.ago(p.dispatcher_at, now)}. ` +
      (o.requests.next_deadline ? `The next request deadline is ${fmt.ago(o.requests.next_deadline, now)}.` : "No request is pending.");
    status("live", true);
  };
  return { stop: every(POLL_MS, refresh) };
}
