// Everything from the API is inserted as text (textContent), never as HTML.
const $ = (id) => document.getElementById(id);
const sel = $("polkadot-chain");

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

async function loadChains() {
  const all = (await getJSON("/api/v1/networks")).networks || [];
  const chains = all.filter((n) => n.domain === "polkadot").map((n) => n.name);
  const current = sel.value;
  sel.replaceChildren();
  for (const n of chains) {
    const o = el("option", n);
    o.value = n;
    sel.appendChild(o);
  }
  if (chains.includes(current)) sel.value = current;
  return chains;
}

function firstInvalid(c) {
  for (const k of (c.validity || [])) {
    if (!k.valid) return k.details || k.type;
  }
  return "";
}

async function refresh() {
  try {
    await loadChains();
    if (!sel.value) { $("polkadot-status").textContent = "no chains yet"; return; }
    const base = "/api/v1/polkadot/" + encodeURIComponent(sel.value);
    const cs = await getJSON(base + "/candidates");
    const rounds = await getJSON(base + "/rounds?limit=1");
    $("polkadot-count").textContent = String(cs.length);
    $("polkadot-valid").textContent = String(cs.filter((c) => c.status === "valid").length);
    $("polkadot-invalid").textContent = String(cs.filter((c) => c.status === "invalid").length);
    const t = $("polkadot-candidates");
    t.replaceChildren();
    for (const c of cs) {
      const score = c.score ? c.total.toFixed(1) : "–";
      row(t, [c.name, c.status, score, firstInvalid(c)], c.status === "invalid" ? "err" : (c.status === "valid" ? "ok" : ""));
    }
    if (!cs.length) row(t, ["no candidates"]);
    const rt = $("polkadot-round");
    rt.replaceChildren();
    const r = rounds[0];
    if (r) {
      $("polkadot-round-era").textContent = String(r.era);
      $("polkadot-round-mode").textContent = r.dry_run ? "dry run" : "sent";
      for (const a of (r.assignments || [])) row(rt, [a.nominator, (a.targets || []).length + " targets", (a.targets || []).join(", ")]);
      if (!(r.assignments || []).length) row(rt, ["no assignments"]);
    } else {
      $("polkadot-round-era").textContent = "–";
      $("polkadot-round-mode").textContent = "none yet";
      row(rt, ["no round yet"]);
    }
    $("polkadot-status").className = "";
    $("polkadot-status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    $("polkadot-status").className = "err";
    $("polkadot-status").textContent = "error: " + err.message;
  }
}

sel.addEventListener("change", refresh);
refresh();
setInterval(refresh, 10000);
