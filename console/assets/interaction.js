// An interaction: its parties and user data now, its owner and epoch, every stay in a
// session, and its timeline of events, which grows at the bottom as events are published.
import {
  api, debounce, errorBox, follow, fmt, h, lastPubSeq, row, section, sessionLink, setCells, status, table,
} from "./lib.js";

export function interactionPage(main, iid) {
  const summary = h("dl", { class: "summary", id: "summary" });
  const parties = table("parties", "Parties", ["party", "resource", "role", "state", "session"], "rows");
  const udata = table("udata", "User data", ["key", "value", "session"], "rows");
  const stays = table("stays", "Stays in sessions", ["session", "state", "owner node", "added", "ended", "outcome"], "rows");
  const timeline = table("timeline", "Timeline", ["seq", "time", "event", "attributes", "session"], "rows timeline");
  main.append(
    h("h1", {}, "Interaction ", h("code", {}, iid)),
    summary,
    h("div", { class: "columns" }, section("Parties", parties.table), section("User data", udata.table)),
    section("Stays", stays.table),
    section("Timeline", timeline.table),
  );

  const shown = new Set(); // session/seq of the timeline's rows
  const addEvent = (e) => {
    const k = e.session_id + "/" + e.seq;
    if (shown.has(k)) return;
    shown.add(k);
    const tr = row([String(e.seq), fmt.time(e.created_at), e.name, h("code", {}, JSON.stringify(e.data)), e.session_id],
      { dataset: { sid: e.session_id, seq: String(e.seq) } });
    // In order within its session: almost always at the end.
    const later = [...timeline.tbody.rows].find((r) => r.dataset.sid === e.session_id && Number(r.dataset.seq) > e.seq);
    timeline.tbody.insertBefore(tr, later || null);
  };

  const keyed = (tbody, k, values) => {
    let tr = tbody.querySelector(`tr[data-k="${CSS.escape(k)}"]`);
    if (!tr) {
      tr = row(values.map(() => ""), { dataset: { k } });
      tbody.append(tr);
    }
    setCells(tr, values);
    tr.dataset.seen = "1";
    return tr;
  };
  const sweep = (tbody) => {
    for (const tr of [...tbody.rows]) {
      if (tr.dataset.seen) delete tr.dataset.seen;
      else tr.remove();
    }
  };

  let session = "";
  let stopped = false;
  let stopStream = () => {};
  let after = 0;
  const load = async () => {
    const d = await api("/v1/reports/interactions/" + encodeURIComponent(iid));
    const stay = d.stays[d.stays.length - 1];
    const s = await api("/v1/sessions/" + encodeURIComponent(stay.session_id)).catch(() => null);
    summary.replaceChildren(
      ...[["media", stay.media], ["type", stay.type], ["state", stay.state + (stay.controlled ? " · controlled" : "")],
        ["session", sessionLink(stay.session_id)], ["owner node", s?.owner_node || stay.owner_node || "none"],
        ["lease epoch", s ? String(s.lease_epoch) : "–"], ["added", fmt.dateTime(stay.created_at)],
        ["outcome", stay.outcome]].flatMap(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { field: k } }, v)]),
    );
    for (const p of d.parties) keyed(parties.tbody, p.session_id + "/" + p.party_id, [p.party_id, p.resource, p.role, p.state, p.session_id]);
    sweep(parties.tbody);
    for (const [sid, kv] of Object.entries(d.udata)) {
      for (const [k, v] of Object.entries(kv)) keyed(udata.tbody, sid + "/" + k, [k, h("code", {}, fmt.json(v)), sid]);
    }
    sweep(udata.tbody);
    for (const x of d.stays) {
      keyed(stays.tbody, x.session_id + "/" + x.created_at, [sessionLink(x.session_id), x.state, x.owner_node || "–",
        fmt.dateTime(x.created_at), fmt.dateTime(x.ended_at), x.outcome + (x.moved_to ? " to " + x.moved_to : "")]);
    }
    sweep(stays.tbody);
    for (const e of d.timeline) addEvent(e);
    if (stay.session_id !== session && !stopped) {
      // First load, or the interaction moved (associate): follow its session now.
      session = stay.session_id;
      stopStream();
      stopStream = follow({ sessionId: session, after }, (e) => {
        if (e.data?.interactionid === iid) addEvent(e);
        reload();
      });
    }
  };
  const reload = debounce(150, () => load().catch((e) => status(String(e.message || e), false)));

  (async () => {
    try {
      after = await lastPubSeq();
      await load();
    } catch (e) {
      main.append(errorBox(e));
    }
  })();
  return {
    stop: () => {
      stopped = true;
      reload.cancel();
      stopStream();
    },
  };
}
