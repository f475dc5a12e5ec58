// Everything from the API is inserted as text (textContent), never as HTML.
const $ = (id) => document.getElementById(id);
const sel = $("ssv-network");

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

function row(t, cells, cls) {
  const tr = el("tr", undefined, cls);
  for (const c of cells) tr.appendChild(el("td", String(c)));
  t.appendChild(tr);
}

// table fills t with one row per key of counts (an object of numbers),
// sorted by key as numbers when they are.
function table(id, counts, label) {
  const t = $(id);
  t.replaceChildren();
  const keys = Object.keys(counts || {}).sort((a, b) => (Number(a) - Number(b)) || (a < b ? -1 : a > b ? 1 : 0));
  if (keys.length === 0) { row(t, ["none"]); return; }
  for (const k of keys) row(t, [label(k), counts[k]]);
}

async function loadNetworks() {
  const all = (await getJSON("/api/v1/networks")).networks || [];
  const nets = all.filter((n) => n.domain === "ssv").map((n) => n.name);
  const current = sel.value;
  sel.replaceChildren();
  for (const n of nets) {
    const o = el("option", n);
    o.value = n;
    sel.appendChild(o);
  }
  if (nets.includes(current)) sel.value = current;
  return nets;
}

// held shows the first held block, if any: the registry applies no block
// after it until its events are all in (or, for a gap, the blocks before
// it that never arrived), and health fails meanwhile.
function held(h) {
  const p = $("ssv-held");
  $("ssv-held-block").textContent = h ? String(h.block) : "none";
  $("ssv-held-block").className = h ? "err" : "";
  p.hidden = !h;
  if (h && h.gap) {
    const from = h.gap.from === 0 ? "the contract's start block" : String(h.gap.from);
    p.textContent = "Block " + h.block + " (" + h.hash + ") is held since " + h.since + ": a gap, blocks " + from + ".." +
      h.gap.to + " were never received. " + h.blocks + (h.blocks === 1 ? " block is" : " blocks are") +
      " held and none is applied until they are: start the sentry once with --ssv-replay-from " + from +
      "; health fails while a block is held.";
    return;
  }
  p.textContent = h ? "Block " + h.block + " (" + h.hash + ") is held since " + h.since + ": its marker announces " +
    h.announced + " events, " + h.received + " arrived. " + h.blocks + (h.blocks === 1 ? " block is" : " blocks are") +
    " held and none is applied until its events are in; health fails while a block is held." : "";
}

// skipped shows how many contract logs could not be decoded, links to
// their list and shows the latest few.
async function skipped(base, count) {
  $("ssv-skipped-count").textContent = String(count);
  $("ssv-skipped-count").className = count > 0 ? "err" : "";
  $("ssv-skipped-link").href = base + "/skipped";
  const t = $("ssv-skipped");
  const list = count > 0 ? ((await getJSON(base + "/skipped?limit=5")).skipped || []) : [];
  t.replaceChildren();
  for (const k of list) row(t, ["block " + k.block, "log " + k.log_index, k.reason]);
  if (list.length === 0) row(t, ["none"]);
}

async function refresh() {
  try {
    await loadNetworks();
    if (!sel.value) { $("ssv-status").textContent = "no networks yet"; return; }
    const base = "/api/v1/ssv/" + encodeURIComponent(sel.value);
    const s = await getJSON(base + "/summary");
    $("ssv-operators").textContent = String(s.operators);
    $("ssv-validators").textContent = String(s.validators);
    $("ssv-clusters").textContent = String(s.clusters);
    $("ssv-invalid").textContent = String(s.invalid);
    const y = s.sync || {};
    $("ssv-block").textContent = y.synced ? String(y.last_block) : "not synced";
    $("ssv-head").textContent = y.synced ? String(y.head) : "–";
    $("ssv-lag").textContent = y.synced ? String(y.lag) : "–";
    table("ssv-statuses", s.validators_by_status, (k) => k);
    table("ssv-sizes", s.cluster_sizes, (k) => k + " operators");
    const e = $("ssv-endpoints");
    e.replaceChildren();
    for (const p of (y.endpoints || [])) {
      row(e, [p.name, p.healthy ? "healthy" : "unhealthy", "head " + p.head, p.error || ""], p.healthy ? "ok" : "err");
    }
    if (!(y.endpoints || []).length) row(e, ["none reported"]);
    held(y.held);
    await skipped(base, y.skipped_logs || 0);
    $("ssv-status").className = "";
    $("ssv-status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    $("ssv-status").className = "err";
    $("ssv-status").textContent = "error: " + err.message;
  }
}

sel.addEventListener("change", refresh);
refresh();
setInterval(refresh, 10000);
