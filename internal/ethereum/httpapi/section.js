// Everything from the API is inserted as text (textContent), never as HTML.
const $ = (id) => document.getElementById(id);
const sel = $("network");
const MAX_ROWS = 15;

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function table(id, groups) {
  const t = $(id);
  t.replaceChildren();
  const head = document.createElement("tr");
  for (const h of ["", "nodes", "validators"]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.appendChild(th);
  }
  t.appendChild(head);
  for (const g of (groups || []).slice(0, MAX_ROWS)) {
    const tr = document.createElement("tr");
    cell(tr, g.key || "unknown");
    cell(tr, String(g.nodes), "n");
    cell(tr, String(g.validators), "n");
    t.appendChild(tr);
  }
}

function subnets(cov) {
  const box = $("subnets");
  box.replaceChildren();
  const max = Math.max(1, ...(cov || []));
  (cov || []).forEach((n, i) => {
    const d = document.createElement("div");
    d.textContent = i + ": " + n;
    d.title = "subnet " + i + ": " + n + " nodes";
    d.style.background = "rgba(30, 120, 200, " + (0.1 + 0.8 * n / max).toFixed(2) + ")";
    box.appendChild(d);
  });
}

async function getJSON(path) {
  const r = await fetch(path, { headers: { "Accept": "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
  return body;
}

async function loadNetworks() {
  // /api/v1/networks lists every domain's networks; this section shows Ethereum's.
  const networks = (await getJSON("/api/v1/networks")).networks.filter((n) => n.domain === "ethereum");
  const current = sel.value;
  sel.replaceChildren();
  for (const n of networks) {
    const o = document.createElement("option");
    o.value = n.name;
    o.textContent = n.name;
    sel.appendChild(o);
  }
  if (networks.some((n) => n.name === current)) sel.value = current;
}

async function refresh() {
  try {
    if (sel.options.length === 0) await loadNetworks();
    if (!sel.value) { $("status").textContent = "no networks yet"; return; }
    const s = await getJSON("/api/v1/ethereum/" + encodeURIComponent(sel.value) + "/stats");
    $("nodes").textContent = String(s.nodes);
    $("validators").textContent = String(s.estimated_validators);
    table("by_client", s.by_client);
    table("by_country", s.by_country);
    table("by_as_organization", s.by_as_organization);
    table("by_hosting_class", s.by_hosting_class);
    subnets(s.subnet_coverage);
    $("status").className = "";
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("status").className = "err";
    $("status").textContent = "error: " + e.message;
  }
}

sel.addEventListener("change", refresh);
refresh();
setInterval(refresh, 10000);
setInterval(() => loadNetworks().catch(() => {}), 60000);
