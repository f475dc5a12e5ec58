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

async function refresh() {
  try {
    await loadNetworks();
    if (!sel.value) { $("ssv-status").textContent = "no networks yet"; return; }
    const s = await getJSON("/api/v1/ssv/" + encodeURIComponent(sel.value) + "/summary");
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
