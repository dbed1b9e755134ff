// A session: its state and owner, its interactions (live and past), its pending action
// requests and who owned it at each lease epoch; read again when its events are published.
import { api, debounce, errorBox, follow, fmt, h, ixnLink, lastPubSeq, row, section, status, table } from "./lib.js";

export function sessionPage(main, sid) {
  const enc = encodeURIComponent(sid);
  const summary = h("dl", { class: "summary", id: "summary" });
  const ixns = table("session-interactions", "Interactions", ["interaction", "media", "state", "added", "ended", "outcome"], "rows");
  const requests = table("requests", "Pending action requests", ["request", "action", "interaction", "made", "deadline", "node"], "rows");
  const owners = table("owners", "Owners by lease epoch", ["epoch", "node", "since", "first event", "events"], "rows");
  main.append(
    h("h1", {}, "Session ", h("code", {}, sid)),
    summary,
    section("Interactions", ixns.table),
    h("div", { class: "columns" }, section("Requests", requests.table), section("Owners", owners.table)),
  );
  const fill = (tbody, items, values, empty) => {
    tbody.replaceChildren(...items.map((x) => row(values(x))));
    if (items.length === 0) tbody.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, empty)));
  };
  const load = async () => {
    const [s, list, reqs, own] = await Promise.all([
      api("/v1/sessions/" + enc),
      api("/v1/reports/interactions?limit=1000&session_id=" + enc),
      api(`/v1/sessions/${enc}/requests?state=pending&limit=1000`),
      api(`/v1/sessions/${enc}/owners`),
    ]);
    summary.replaceChildren(
      ...[["state", s.state], ["owner node", s.owner_node || "none"], ["lease epoch", String(s.lease_epoch)],
        ["last seq", String(s.last_seq)], ["created", fmt.dateTime(s.created_at)], ["ended", fmt.dateTime(s.ended_at)],
        ["checkpoint", s.checkpoint_version ? "version " + s.checkpoint_version : "none"]]
        .flatMap(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { field: k } }, v)]),
    );
    fill(ixns.tbody, list.interactions, (x) => [ixnLink(x.interaction_id), x.media, x.state, fmt.dateTime(x.created_at),
      fmt.dateTime(x.ended_at), x.outcome], "None.");
    fill(requests.tbody, reqs.requests, (r) => [r.request_id, r.action, ixnLink(r.interaction_id), fmt.time(r.created_at),
      fmt.ago(r.deadline), r.node_id || "–"], "None pending.");
    fill(owners.tbody, own.owners, (o) => [String(o.epoch), o.node_id || "none", fmt.dateTime(o.since),
      o.first_seq ? String(o.first_seq) : "–", String(o.events)], "");
  };
  const reload = debounce(200, () => load().catch((e) => status(String(e.message || e), false)));
  let stop = () => {};
  let stopped = false;
  (async () => {
    try {
      const after = await lastPubSeq();
      await load();
      if (!stopped) stop = follow({ sessionId: sid, after }, reload);
    } catch (e) {
      main.append(errorBox(e));
    }
  })();
  return {
    stop: () => {
      stopped = true;
      reload.cancel();
      stop();
    },
  };
}
