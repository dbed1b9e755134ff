// Reports: the aggregates of GET /v1/reports/aggregates over a chosen window, by media, node
// or resource, as a table and charts (volume over time, handle time, abandoned rate), and
// the same figures as CSV.
import { api, errorBox, fmt, h, row, section, table } from "./lib.js";

const BUCKETS = 12;
const COLORS = ["#2f6fb3", "#d9822b", "#3b945e", "#b8433f", "#7d5ba6", "#8a6d3b"];
const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// localInput gives a datetime-local input's value for a time.
function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function reportsPage(main, params) {
  const now = new Date();
  const to = params.get("to") ? new Date(params.get("to")) : new Date(Math.ceil((now.getTime() + 60000) / 60000) * 60000);
  const from = params.get("from") ? new Date(params.get("from")) : new Date(to.getTime() - 24 * 3600 * 1000);
  const groupBy = params.get("group_by") || "media";

  const form = h("form", { class: "filters", id: "report-form" },
    h("label", {}, "from", h("input", { type: "datetime-local", name: "from", value: localInput(from), required: true })),
    h("label", {}, "to", h("input", { type: "datetime-local", name: "to", value: localInput(to), required: true })),
    h("label", {}, "group by", h("select", { name: "group_by" },
      ["media", "node", "resource"].map((g) => h("option", { value: g, selected: g === groupBy }, g)))),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const q = new URLSearchParams({
      from: new Date(fd.get("from")).toISOString(), to: new Date(fd.get("to")).toISOString(), group_by: fd.get("group_by"),
    });
    location.hash = "#/reports?" + q;
  });

  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), group_by: groupBy });
  const csv = h("a", { id: "csv", class: "button", href: "/v1/reports/aggregates?" + q + "&format=csv",
    download: `ixnstore-${groupBy}-${from.toISOString().slice(0, 16)}.csv` }, "Download CSV");
  const agg = table("aggregates", `By ${groupBy}, interactions added in the window`, [groupBy, "total", "live", "completed",
    "abandoned", "abandoned rate", "handle p50", "handle avg", "handle p90", "connected", "to connect p50", "transfers",
    "conferences"], "numbers");
  const volume = h("figure", { id: "chart-volume", class: "chart" });
  const handle = h("figure", { id: "chart-handle", class: "chart" });
  const abandoned = h("figure", { id: "chart-abandoned", class: "chart" });
  main.append(
    h("h1", {}, "Reports"),
    form,
    h("div", { class: "toolbar" }, csv),
    section("Figures", agg.table),
    h("div", { class: "charts" }, volume, handle, abandoned),
  );

  (async () => {
    try {
      const { groups } = await api("/v1/reports/aggregates?" + q);
      agg.tbody.replaceChildren(...groups.map((g) => row([g.group, fmt.number(g.total), fmt.number(g.live),
        fmt.number(g.completed), fmt.number(g.abandoned), fmt.percent(g.abandoned_rate), fmt.seconds(g.handle_time_p50),
        fmt.seconds(g.handle_time_avg), fmt.seconds(g.handle_time_p90), fmt.number(g.connected),
        fmt.seconds(g.time_to_connect_p50), fmt.number(g.transfers), fmt.number(g.conferences)], { dataset: { group: g.group } })));
      if (groups.length === 0) agg.tbody.append(h("tr", {}, h("td", { colspan: 13, class: "muted" }, "No interaction was added in this window.")));
      const top = [...groups].sort((a, b) => b.total - a.total).slice(0, COLORS.length).map((g) => g.group);
      handleChart(handle, groups.filter((g) => top.includes(g.group)));
      abandonedChart(abandoned, groups.filter((g) => top.includes(g.group)));
      // Volume over time: the same aggregates over equal slices of the window.
      const step = (to - from) / BUCKETS;
      const slices = await Promise.all([...Array(BUCKETS).keys()].map((i) => {
        const a = new Date(from.getTime() + i * step);
        const b = new Date(from.getTime() + (i + 1) * step);
        const sq = new URLSearchParams({ from: a.toISOString(), to: b.toISOString(), group_by: groupBy });
        return api("/v1/reports/aggregates?" + sq).then((r) => ({ at: a, groups: r.groups }));
      }));
      volumeChart(volume, slices, top);
    } catch (e) {
      main.append(errorBox(e));
    }
  })();
  return { stop: () => {} };
}

function frame(fig, title, w, hgt) {
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": title });
  fig.replaceChildren(h("figcaption", {}, title), svg);
  return svg;
}

function legend(fig, top) {
  fig.append(h("p", { class: "legend" }, top.map((g, i) =>
    h("span", {}, h("i", { style: `background:${COLORS[i]}` }), g))));
}

function volumeChart(fig, slices, top) {
  const W = 600, H = 220, L = 40, B = 30;
  const svg = frame(fig, "Volume over time: interactions added per slice", W, H);
  const totals = slices.map((x) => x.groups.reduce((a, g) => a + g.total, 0));
  const max = Math.max(1, ...totals);
  const bw = (W - L) / slices.length;
  svg.append(s("text", { x: 0, y: 12, class: "axis" }, String(max)), s("text", { x: 0, y: H - B, class: "axis" }, "0"));
  slices.forEach((x, i) => {
    let y = H - B;
    for (const g of x.groups) {
      const c = top.indexOf(g.group);
      const hh = (g.total / max) * (H - B - 10);
      y -= hh;
      svg.append(s("rect", { x: L + i * bw + 2, y, width: bw - 4, height: hh, fill: c >= 0 ? COLORS[c] : "#999" },
        s("title", {}, `${g.group}: ${g.total}`)));
    }
    if (i % 3 === 0) {
      svg.append(s("text", { x: L + i * bw, y: H - 8, class: "axis" },
        x.at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false })));
    }
  });
  legend(fig, top);
}

function handleChart(fig, groups) {
  const W = 600, rowH = 26, L = 120;
  const H = Math.max(1, groups.length) * rowH + 24;
  const svg = frame(fig, "Handle time (added to deleted): p50 bar, average and p90 marks, seconds", W, H);
  const max = Math.max(1, ...groups.map((g) => g.handle_time_p90));
  const x = (v) => L + (v / max) * (W - L - 60);
  groups.forEach((g, i) => {
    const y = i * rowH + 4;
    svg.append(
      s("text", { x: 0, y: y + 14, class: "axis" }, g.group),
      s("rect", { x: L, y, width: Math.max(1, x(g.handle_time_p50) - L), height: rowH - 8, fill: COLORS[i] }),
      s("line", { x1: x(g.handle_time_avg), x2: x(g.handle_time_avg), y1: y - 2, y2: y + rowH - 6, class: "mark" }),
      s("line", { x1: x(g.handle_time_p90), x2: x(g.handle_time_p90), y1: y - 2, y2: y + rowH - 6, class: "mark p90" }),
      s("text", { x: x(g.handle_time_p90) + 4, y: y + 14, class: "axis" }, fmt.seconds(g.handle_time_p90)),
    );
  });
}

function abandonedChart(fig, groups) {
  const W = 600, rowH = 26, L = 120;
  const H = Math.max(1, groups.length) * rowH + 24;
  const svg = frame(fig, "Abandoned rate", W, H);
  groups.forEach((g, i) => {
    const y = i * rowH + 4;
    svg.append(
      s("text", { x: 0, y: y + 14, class: "axis" }, g.group),
      s("rect", { x: L, y, width: W - L - 60, height: rowH - 8, class: "track" }),
      s("rect", { x: L, y, width: Math.max(0, g.abandoned_rate * (W - L - 60)), height: rowH - 8, fill: COLORS[i] }),
      s("text", { x: W - 56, y: y + 14, class: "axis" }, fmt.percent(g.abandoned_rate)),
    );
  });
}
