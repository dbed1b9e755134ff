// What every page of the console uses: building elements, reading the API, following the
// event stream, formatting. No framework: the pages are small and this is all they need.
import { eventNames } from "./events.js";

// h builds an element. Text is always set as text, never parsed as HTML: ids and user data
// come from outside.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v; // through the CSSOM: the CSP refuses style attributes
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// api reads a route of the API with the console's cookie. 401: the token went (revoked,
// expired, signed out): back to the login.
export async function api(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (res.status === 401) {
    location.assign("/ui/login");
    throw new Error("signed out");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message || `${path}: HTTP ${res.status}`);
  return body;
}

// status shows how the live updates stand in the header.
export function status(text, ok) {
  const el = document.getElementById("live");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("ok", !!ok);
  el.classList.toggle("bad", !ok);
}

// lastPubSeq is where a stream starts that is to give what happens from now on.
export async function lastPubSeq() {
  const o = await api("/v1/overview");
  return o.publication.last_pub_seq;
}

// follow opens the event stream (filtered by session or node) after a publication number and
// calls onEvent with each event; it returns a function that closes it. The browser
// reconnects by itself, resuming with Last-Event-ID; a stream cut for reading too slowly
// (stream.cut) is opened again where it stopped.
export function follow({ sessionId, nodeId, after }, onEvent) {
  let es = null;
  let closed = false;
  const open = (from) => {
    const q = new URLSearchParams({ after: String(from) });
    if (sessionId) q.set("session_id", sessionId);
    if (nodeId) q.set("node_id", nodeId);
    es = new EventSource("/v1/events/stream?" + q);
    es.onopen = () => status("live", true);
    es.onerror = () => {
      if (closed) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused outright (401, 429, 503): see whether the token still holds, then retry.
        status("reconnecting…", false);
        api("/v1/overview").then(() => setTimeout(() => !closed && open(from), 2000), () => {});
      } else {
        status("reconnecting…", false);
      }
    };
    for (const name of eventNames) {
      es.addEventListener(name, (m) => {
        from = Number(m.lastEventId) || from;
        onEvent(JSON.parse(m.data));
      });
    }
    es.addEventListener("stream.cut", (m) => {
      const after = JSON.parse(m.data).after;
      es.close();
      if (!closed) open(after);
    });
  };
  open(after);
  return () => {
    closed = true;
    es?.close();
  };
}

// every runs fn now and then again ms after each run ends (never two at once), until the
// returned function is called.
export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try {
      await fn();
    } catch (e) {
      status(String(e.message || e), false);
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// debounce calls fn once, ms after the last of a burst of calls.
export function debounce(ms, fn) {
  let timer = null;
  const call = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
}

// limiter runs at most n of the given async jobs at once, queueing the rest.
export function limiter(n) {
  let running = 0;
  const queue = [];
  const next = () => {
    if (running >= n || queue.length === 0) return;
    running++;
    const job = queue.shift();
    job().finally(() => {
      running--;
      next();
    });
  };
  return (job) => {
    queue.push(job);
    next();
  };
}

export const fmt = {
  time(s) {
    if (!s) return "–";
    const d = new Date(s);
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  },
  dateTime(s) {
    if (!s) return "–";
    const d = new Date(s);
    return d.toLocaleDateString() + " " + d.toLocaleTimeString([], { hour12: false });
  },
  seconds(x) {
    if (x === undefined || x === null) return "–";
    return x < 60 ? x.toFixed(1) + " s" : (x / 60).toFixed(1) + " min";
  },
  ms(x) {
    if (x < 1000) return x + " ms";
    return (x / 1000).toFixed(1) + " s";
  },
  ago(s, now = Date.now()) {
    if (!s) return "–";
    const d = (now - new Date(s).getTime()) / 1000;
    if (d < 0) return "in " + fmt.seconds(-d);
    return fmt.seconds(d) + " ago";
  },
  percent(x) {
    return (x * 100).toFixed(1) + " %";
  },
  number(n) {
    return Number(n).toLocaleString();
  },
  json(v) {
    return typeof v === "string" ? v : JSON.stringify(v);
  },
};

// link to a page of the console.
export function link(hash, text, attrs = {}) {
  return h("a", { href: hash, ...attrs }, text);
}

export const ixnLink = (iid) => link("#/interaction/" + encodeURIComponent(iid), iid);
export const sessionLink = (sid) => link("#/session/" + encodeURIComponent(sid), sid);

// table builds a table with a caption and header cells; its body is returned with it.
export function table(id, caption, headers, cls = "") {
  const tbody = h("tbody");
  const t = h(
    "table",
    { id, class: cls },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    tbody,
  );
  return { table: t, tbody };
}

// setCells sets the text of a row's cells in place (no new elements: nothing moves), and
// marks the row changed for a moment when anything did.
export function setCells(tr, values) {
  let changed = false;
  values.forEach((v, i) => {
    const td = tr.children[i];
    if (v instanceof Node) {
      if (!td.firstChild || !td.firstChild.isEqualNode(v)) {
        td.replaceChildren(v);
        changed = true;
      }
    } else if (td.textContent !== String(v)) {
      td.textContent = String(v);
      changed = true;
    }
  });
  if (changed) flash(tr);
}

export function flash(el) {
  el.classList.remove("changed");
  void el.offsetWidth; // restart the animation
  el.classList.add("changed");
}

export function row(values, attrs = {}) {
  return h("tr", attrs, values.map((v) => h("td", {}, v)));
}

export function section(title, ...children) {
  return h("section", { "aria-label": title }, h("h2", {}, title), ...children);
}

export function errorBox(e) {
  return h("p", { class: "error", role: "alert" }, String(e.message || e));
}
