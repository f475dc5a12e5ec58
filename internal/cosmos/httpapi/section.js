// Everything from the API is inserted as text (textContent), never as HTML.
const $ = (id) => document.getElementById(id);
const sel = $("cosmos-chain");
const BLOCKS = 50;
const MAX_ROWS = 200;
// One class and one description per cell character of /grid.
const CELLS = {
  "S": ["c-signed", "signed"],
  "P": ["c-proposed", "proposed"],
  "v": ["c-missed-prevote", "missed prevote"],
  "c": ["c-missed-precommit", "missed precommit"],
  "M": ["c-missed-signature", "missed signature"],
  "?": ["c-unknown", "unknown"],
  "x": ["c-skipped", "not analysed"],
  " ": ["c-out", "not in the set"],
};

function shortAddr(a) {
  return a.length > 12 ? a.slice(0, 6) + "…" + a.slice(-4) : a;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

async function getJSON(path) {
  const r = await fetch(path, { headers: { "Accept": "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
  return body;
}

function base() {
  return "/api/v1/cosmos/" + encodeURIComponent(sel.value);
}

function grid(g) {
  const t = $("cosmos-grid");
  t.replaceChildren();
  const head = el("tr");
  head.appendChild(el("th"));
  for (const h of g.heights) head.appendChild(el("th", h % 10 === 0 ? String(h) : "", "h"));
  t.appendChild(head);
  for (const v of g.validators.slice(0, MAX_ROWS)) {
    const tr = el("tr");
    tr.dataset.address = v.address;
    const name = el("th", v.moniker || shortAddr(v.address), "name");
    name.title = v.address;
    tr.appendChild(name);
    g.heights.forEach((h, i) => {
      const c = v.cells.charAt(i);
      const [cls, what] = CELLS[c] || CELLS["?"];
      const td = el("td", undefined, "cell " + cls);
      td.dataset.height = String(h);
      // A skipped height: nobody signed or missed there; say why.
      const skipped = g.skipped && g.skipped[String(h)];
      let title = "height " + h + ": " + (skipped ? "not analysed: " + skipped : what);
      const cause = !skipped && v.causes && v.causes[String(h)];
      if (cause) title += " (" + cause + ")";
      const incident = g.incidents && g.incidents[String(h)];
      if (incident) title += "; incident: " + incident;
      td.title = title;
      tr.appendChild(td);
    });
    t.appendChild(tr);
  }
}

function span(from, to) {
  return from === to ? String(from) : from + "–" + to;
}

// One line per chain: the heights the analyzer passed without analysing.
function skippedLines(chains) {
  const d = $("cosmos-skipped");
  d.replaceChildren();
  for (const c of chains.slice(0, MAX_ROWS)) {
    let text = c.chain + ": ";
    if (!c.skipped_runs) text += "no heights skipped";
    else {
      text += "not analysed: " + c.skipped_runs + (c.skipped_runs === 1 ? " skipped run" : " skipped runs") +
        " (" + c.skipped_heights + (c.skipped_heights === 1 ? " height)" : " heights)");
      const l = c.last_skipped;
      if (l) text += ", latest " + span(l.from, l.to) + ": " + l.reason;
    }
    const line = el("div", text);
    line.dataset.chain = c.chain;
    d.appendChild(line);
  }
}

function row(t, cells, header) {
  const tr = el("tr");
  for (const [text, cls] of cells) tr.appendChild(el(header ? "th" : "td", text, cls));
  t.appendChild(tr);
}

function validators(vs) {
  const t = $("cosmos-table");
  t.replaceChildren();
  row(t, [["validator"], ["power"], ["window missed"], ["blocks to jail"], ["time to jail"], ["uptime"]], true);
  for (const v of vs.validators.slice(0, MAX_ROWS)) {
    // projected with no time: blocks known, too few block intervals yet for a time
    const jailText = { never: "never", unknown: "unknown", projected: "unknown" }[v.jail] || "–";
    const jail = v.time_to_jail_seconds === null ? jailText : Math.round(v.time_to_jail_seconds) + " s";
    const uptime = v.uptime === null ? "–" : (100 * v.uptime).toFixed(2) + " %";
    row(t, [
      [v.moniker || shortAddr(v.address)],
      [(100 * v.power_share).toFixed(2) + " %", "n"],
      [String(v.window_missed), "n"],
      [v.blocks_to_jail === null ? jailText : String(v.blocks_to_jail), "n"],
      [jail, "n"],
      [uptime, "n"],
    ]);
  }
}

function alerts(a) {
  const t = $("cosmos-alerts");
  t.replaceChildren();
  const list = Array.isArray(a.alerts) ? a.alerts : [];
  if (list.length === 0) { row(t, [["none"]]); return; }
  for (const x of list.slice(0, MAX_ROWS)) {
    // The alert engine's shape: show its usual fields, else the whole alert.
    const what = x && typeof x === "object" ? (x.message || x.summary || x.kind || JSON.stringify(x)) : String(x);
    const who = x && typeof x === "object" ? (x.moniker || x.validator || "") : "";
    row(t, [[String(who)], [String(what)]]);
  }
}

async function loadChains() {
  const chains = (await getJSON("/api/v1/cosmos/chains")).chains;
  const current = sel.value;
  sel.replaceChildren();
  for (const c of chains) {
    const o = el("option", c.chain);
    o.value = c.chain;
    sel.appendChild(o);
  }
  if (chains.some((c) => c.chain === current)) sel.value = current;
  else {
    // At first, the first chain with analysed heights.
    const withData = chains.find((c) => c.analyzed_height > 0);
    if (withData) sel.value = withData.chain;
  }
  return chains;
}

async function refresh() {
  try {
    const chains = await loadChains();
    if (!sel.value) { $("cosmos-status").textContent = "no chains yet"; return; }
    skippedLines(chains);
    const c = chains.find((x) => x.chain === sel.value);
    $("cosmos-height").textContent = String(c.latest_height);
    $("cosmos-analyzed").textContent = String(c.analyzed_height);
    $("cosmos-validators").textContent = String(c.validators);
    $("cosmos-endpoints").textContent = c.endpoints_healthy + " / " + c.endpoints_total;
    const [g, vs, a] = await Promise.all([
      getJSON(base() + "/grid?blocks=" + BLOCKS),
      getJSON(base() + "/validators"),
      getJSON(base() + "/alerts"),
    ]);
    grid(g);
    validators(vs);
    alerts(a);
    $("cosmos-status").className = "";
    $("cosmos-status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("cosmos-status").className = "err";
    $("cosmos-status").textContent = "error: " + e.message;
  }
}

sel.addEventListener("change", refresh);
refresh();
setInterval(refresh, 10000);
