// The operator console: live map, alert queue, incidents and dispatch, gates and
// overrides, a unit's timeline, customs look-up. Everything comes from central's API
// and its live stream; nothing is fetched from elsewhere.
import { ApiError, clearDraft, clock, draft, el, get, liveStream, login, post, put, setToken, when } from "./api.js";
import { CorridorMap } from "./map.js";

const $ = (id) => document.getElementById(id);
const state = {
  me: null,
  alerts: new Map(),
  incidents: new Map(),
  units: new Map(),
  rrus: new Map(),
  gates: new Map(),
  sites: new Map(),
  selectedIncident: null,
  selectedGate: null,
};
const map = new CorridorMap($("map"));

function showError(err) {
  $("error").textContent = err ? String(err.message || err) : "";
  if (err) console.error(err);
}

async function guarded(action) {
  showError(null);
  try {
    return await action();
  } catch (err) {
    showError(err);
    return null;
  }
}

// ------------------------------------------------------------------ start, login

async function start() {
  try {
    state.me = await get("/auth/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return askLogin();
    throw err;
  }
  $("open-mode").hidden = !state.me.open_mode;
  $("who").textContent = state.me.open_mode ? "" : `${state.me.username} (${state.me.role})`;
  $("logout").hidden = state.me.open_mode;
  await Promise.all([loadSites(), loadAlerts(), loadIncidents(), loadUnits(), loadRrus(), loadGates()]);
  liveStream(onLive, (s) => {
    const pill = $("live-state");
    pill.textContent = s === "live" ? "live" : "offline";
    pill.className = `pill ${s === "live" ? "live" : "down"}`;
    if (s === "live") Promise.all([loadAlerts(), loadIncidents(), loadRrus()]).catch(showError);
    if (s === "unauthorised") askLogin();
  });
  setInterval(tick, 1000);
  setInterval(() => loadGates().catch(() => {}), 15000);
}

function askLogin() {
  const dialog = $("login");
  dialog.showModal();
  $("login-form").onsubmit = async (e) => {
    e.preventDefault();
    try {
      await login($("login-user").value, $("login-password").value);
      dialog.close();
      location.reload();
    } catch (err) {
      $("login-error").textContent = err.message;
    }
  };
}

$("logout").onclick = () => {
  setToken(null);
  location.reload();
};

for (const button of document.querySelectorAll("#tabs button")) {
  button.onclick = () => showTab(button.dataset.tab);
}

function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== `panel-${name}`;
}

// ------------------------------------------------------------------ live events

function onLive(kind, data) {
  if (kind === "alert") {
    state.alerts.set(data.alert_id, data);
    arrived("alerts", data.alert_id, data);
    renderAlerts();
  } else if (kind === "incident") {
    state.incidents.set(data.incident_id, data);
    arrived("incidents", data.incident_id, data);
    renderIncidents();
    if (state.selectedIncident === data.incident_id) showIncident(data.incident_id);
  } else if (kind === "positions") {
    for (const u of data.units) state.units.set(u.device_id, u);
    renderUnits();
  } else if (kind === "unit") {
    state.rrus.set(data.unit_id, data);
    renderRrus();
  } else if (kind === "decision" || kind === "override") {
    if (state.selectedGate && data.gate_id === state.selectedGate) showGate(data.gate_id);
  }
}

function tick() {
  for (const node of document.querySelectorAll("[data-due]")) {
    const text = clock(node.dataset.due);
    node.textContent = text;
    node.classList.toggle("overdue", text.startsWith("overdue"));
  }
}

// ------------------------------------------------------------------ map

async function loadSites() {
  const names = await get("/sites");
  const select = $("site-select");
  select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
  for (const name of names) {
    const collection = await get(`/sites/${encodeURIComponent(name)}`);
    state.sites.set(name, map.drawSite(collection));
  }
  if (names.length) map.fit(state.sites.get(names[0]));
  map.touched = false;
  select.onchange = () => {
    map.fit(state.sites.get(select.value) || []);
    map.touched = true;
  };
  const places = await get("/sites/gates");
  for (const p of places) {
    state.gates.set(p.gate_id, { gate_id: p.gate_id, ...(state.gates.get(p.gate_id) || {}), place: p });
  }
  renderGates();
}

const unitPoints = () => [...state.units.values()].map((u) => [u.lon, u.lat]);
$("fit-units").onclick = () => map.fit(unitPoints(), 0.05);
let fittedTo = 0; // how many units the view was last fitted to (until the user moves it)
$("zoom-in").onclick = () => map.zoom(1 / 1.5);
$("zoom-out").onclick = () => map.zoom(1.5);

map.onSelect = (group, id) => {
  if (group === "units") {
    showTab("units");
    showTimeline(id);
  } else if (group === "alerts") {
    showTab("incidents");
    showIncident(id);
  } else if (group === "gates") {
    showTab("gates");
    showGate(id);
  }
};

// ------------------------------------------------------------------ alerts

// A list fetched from the API is a snapshot from when the server answered; live events
// that arrive while it is on its way are newer and must not be lost when it replaces
// the list (a truck's incident opened just as the console connected vanished so).
const arriving = { alerts: new Set(), incidents: new Set() };

async function snapshot(kind, path, key) {
  const during = new Map();
  arriving[kind].add(during);
  try {
    const fresh = new Map((await get(path)).map((item) => [item[key], item]));
    for (const [id, item] of during) {
      const held = fresh.get(id);
      if (!held || !held.updated_at || !item.updated_at || item.updated_at >= held.updated_at) fresh.set(id, item);
    }
    return fresh;
  } finally {
    arriving[kind].delete(during);
  }
}

function arrived(kind, id, item) {
  for (const during of arriving[kind]) during.set(id, item);
}

async function loadAlerts() {
  state.alerts = await snapshot("alerts", "/alerts/queue?limit=500", "alert_id");
  renderAlerts();
}

const RANK = { critical: 0, warning: 1, info: 2 };

function renderAlerts() {
  const active = [...state.alerts.values()].filter((a) => a.status === "open" || a.status === "acknowledged");
  active.sort((a, b) => RANK[a.severity] - RANK[b.severity] || b.last_raised_at.localeCompare(a.last_raised_at));
  $("alert-count").textContent = active.filter((a) => a.status === "open").length;
  $("alert-queue").replaceChildren(...active.map(alertItem));
  renderUnits();
}

function alertItem(a) {
  const note = draft("input", `alert-${a.alert_id}`, { class: "note", placeholder: "note, or user to assign" });
  const act = (action) => () =>
    guarded(async () => {
      const body = action === "assign" ? { assignee: note.value.trim() } : { note: note.value };
      const updated = await post(`/alerts/${a.alert_id}/${action}`, body);
      clearDraft(`alert-${a.alert_id}`);
      state.alerts.set(updated.alert_id, updated);
      renderAlerts();
    });
  const where = a.gate_id ? `gate ${a.gate_id}` : a.device_id ? `unit ${a.device_id}` : "";
  return el(
    "li",
    { class: `alert sev-${a.severity} status-${a.status}`, "data-id": a.alert_id },
    el("div", {}, el("span", { class: `badge ${a.severity}` }, a.severity), el("b", {}, a.rule), " ",
      el("span", { class: "status badge" }, a.status), a.occurrences > 1 ? ` ×${a.occurrences}` : "",
      a.escalation_level ? el("span", { class: "badge critical" }, `escalated ${a.escalation_level}`) : ""),
    el("div", { class: "summary" }, a.summary),
    el("div", { class: "meta" }, `${when(a.raised_at)} · ${where}`, a.assignee ? ` · assigned to ${a.assignee}` : "",
      a.acknowledged_by ? ` · ack by ${a.acknowledged_by}` : ""),
    el("div", { class: "actions" },
      a.status === "open" ? el("button", { class: "primary", onclick: act("acknowledge") }, "Acknowledge") : "",
      note,
      el("button", { onclick: act("assign") }, "Assign"),
      el("button", { onclick: act("comment") }, "Comment"),
      el("button", { onclick: act("escalate") }, "Escalate"),
      el("button", { class: "danger", onclick: act("close") }, "Close"),
      a.incident_id
        ? el("button", { onclick: () => (showTab("incidents"), showIncident(a.incident_id)) }, "Incident")
        : el("button", { onclick: () => guarded(async () => {
            const incident = await post(`/alerts/${a.alert_id}/incident`, {});
            state.incidents.set(incident.incident_id, incident);
            renderIncidents();
            await loadAlerts();
          }) }, "Open incident")),
  );
}

// ------------------------------------------------------------------ incidents

async function loadIncidents() {
  state.incidents = await snapshot("incidents", "/incidents?limit=300", "incident_id");
  renderIncidents();
}

const ACTIVE = ["open", "dispatched", "acknowledged", "on_scene"];

function renderIncidents() {
  const all = [...state.incidents.values()].sort((a, b) => b.opened_at.localeCompare(a.opened_at));
  const active = all.filter((i) => ACTIVE.includes(i.status));
  $("incident-count").textContent = active.length;
  $("incident-list").replaceChildren(
    ...all.slice(0, 100).map((i) =>
      el("li", { class: `incident sev-${i.severity} ${i.incident_id === state.selectedIncident ? "selected" : ""}`,
        "data-id": i.incident_id, onclick: () => showIncident(i.incident_id) },
        el("div", {}, el("span", { class: `badge ${i.severity}` }, i.severity), el("b", {}, i.title)),
        el("div", { class: "meta" }, el("span", { class: "status" }, i.status), i.unit_id ? ` · unit ${i.unit_id}` : "",
          ACTIVE.slice(0, 3).includes(i.status) ? " · " : "",
          ACTIVE.slice(0, 3).includes(i.status) ? el("span", { class: "clock", "data-due": i.due_at }, clock(i.due_at)) : ""),
      ),
    ),
  );
  for (const id of [...map.markers.alerts.keys()]) if (!active.some((i) => i.incident_id === id)) map.remove("alerts", id);
  for (const i of active) if (i.lat !== null && i.lon !== null) map.alertAt(i.incident_id, i.lon, i.lat, i.severity, i.title);
}

async function showIncident(id) {
  state.selectedIncident = id;
  renderIncidents();
  const box = $("incident-detail");
  const i = await guarded(() => get(`/incidents/${id}`));
  if (!i) return;
  const running = ["open", "dispatched", "acknowledged"].includes(i.status);
  const parts = [
    el("h3", {}, i.title),
    el("div", { class: "meta" }, `status ${i.status} · severity ${i.severity} · opened ${when(i.opened_at)}`,
      i.unit_id ? ` · unit ${i.unit_id}` : "", i.lat !== null ? ` · at ${i.lat.toFixed(5)}, ${i.lon.toFixed(5)}` : " · no location"),
    running ? el("div", {}, "Response clock: ", el("span", { class: "clock", "data-due": i.due_at }, clock(i.due_at))) : "",
  ];
  if (ACTIVE.includes(i.status)) {
    const candidates = await guarded(() => get(`/incidents/${id}/candidates`));
    const dispatch = (unitId) => () =>
      guarded(async () => {
        const updated = await post(`/incidents/${id}/dispatch`, unitId ? { unit_id: unitId } : {});
        state.incidents.set(id, updated);
        showIncident(id);
      });
    parts.push(
      el("div", { class: "actions" }, i.lat !== null ? el("button", { class: "primary", onclick: dispatch(null) }, "Dispatch nearest") : ""),
      el("ul", { class: "candidates" },
        ...(candidates || []).slice(0, 6).map((c) =>
          el("li", { "data-unit": c.unit_id }, `${c.unit_id} ${c.name} `,
            c.distance_m !== null ? `${(c.distance_m / 1000).toFixed(1)} km ${c.live ? "(live)" : "(base)"} ` : "",
            el("button", { onclick: dispatch(c.unit_id) }, `Dispatch ${c.unit_id}`)),
        ),
      ),
    );
    const lat = draft("input", `lat-${id}`, { placeholder: "lat", size: 8 });
    const lon = draft("input", `lon-${id}`, { placeholder: "lon", size: 8 });
    const note = draft("input", `close-${id}`, { placeholder: "why closed" });
    parts.push(
      el("div", { class: "actions" }, lat, lon,
        el("button", { onclick: () => guarded(async () => {
          await put(`/incidents/${id}/location`, { lat: Number(lat.value), lon: Number(lon.value), note: "" });
          showIncident(id);
        }) }, "Set location")),
      el("div", { class: "actions" }, note,
        el("button", { class: "danger", onclick: () => guarded(async () => {
          const updated = await post(`/incidents/${id}/close`, { note: note.value });
          state.incidents.set(id, updated);
          showIncident(id);
        }) }, "Close incident")),
    );
  }
  const evidence = el("div", {});
  parts.push(
    el("h3", {}, "Alerts"),
    el("ul", { class: "events" }, ...i.alerts.map((a) => el("li", {}, `${when(a.raised_at)} ${a.severity} ${a.rule}: ${a.summary}`))),
    el("h3", {}, "Steps"),
    el("ul", { class: "events" }, ...i.events.map((e) => el("li", {}, `${when(e.at)} ${e.action} by ${e.actor}${e.note ? ": " + e.note : ""}`))),
    el("button", { onclick: () => guarded(async () => evidence.replaceChildren(renderEvidence(await get(`/incidents/${id}/evidence`)))) }, "Evidence"),
    evidence,
  );
  box.replaceChildren(...parts);
}

export function renderEvidence(ev) {
  return el("div", { class: "evidence" },
    el("div", {}, `${ev.passages.length} passage(s), ${ev.track.points.length} track point(s), ${ev.seal_events.length} seal event(s)`),
    ...ev.passages.map((p) => el("div", { class: "meta" }, `${when(p.closed_at)} ${p.gate_id}/${p.lane_id}: `,
      p.identifiers.map((x) => `${x.kind} ${x.value}`).join(", "),
      ...p.images.filter((src) => /^(data:image\/|\/)/.test(src)).map((src) => el("img", { class: "evidence", src })))),
    ...ev.seal_events.map((s) => el("div", { class: "meta" }, `${when(s.occurred_at)} seal ${s.seal_id} ${s.event} (${s.state})`)),
  );
}

// ------------------------------------------------------------------ units and RRUs

async function loadUnits() {
  for (const u of await get("/units")) state.units.set(u.device_id, u);
  renderUnits();
}

function renderUnits() {
  if (!map.touched && state.units.size > fittedTo) {
    fittedTo = state.units.size; // a new unit: show them all, with room around
    map.fit(unitPoints(), 0.5);
    map.touched = false;
  }
  const alarmed = new Set([...state.alerts.values()].filter((a) => a.status === "open" && a.device_id).map((a) => a.device_id));
  for (const u of state.units.values()) {
    map.unitAt(u.device_id, u.lon, u.lat, alarmed.has(u.device_id) ? "alarm" : "", `${u.device_id} ${when(u.at)}`);
  }
  $("unit-list").replaceChildren(
    ...[...state.units.values()].map((u) =>
      el("li", { class: alarmed.has(u.device_id) ? "sev-critical" : "", onclick: () => showTimeline(u.device_id) },
        el("b", {}, u.device_id), el("span", { class: "meta" }, ` ${when(u.at)} · ${u.speed_mps === null ? "?" : (u.speed_mps * 3.6).toFixed(0)} km/h`))),
  );
}

async function showTimeline(key) {
  const t = await guarded(() => get(`/units/${encodeURIComponent(key)}/timeline`));
  if (!t) return;
  $("unit-detail").replaceChildren(
    el("h3", {}, `Timeline of ${key}`),
    t.movement ? el("div", { class: "meta" }, `movement ${t.movement.iot_id} · ${t.movement.process} · ${t.movement.state}`) : "",
    el("div", { class: "meta" }, `${t.track.length} recent fixes`),
    el("ul", { class: "events" }, ...t.entries.map((e) => el("li", {}, `${when(e.at)} [${e.kind}] ${e.summary}`))),
  );
}

async function loadRrus() {
  for (const u of await get("/rrus")) state.rrus.set(u.unit_id, u);
  renderRrus();
}

function renderRrus() {
  for (const u of state.rrus.values()) {
    const live = u.lat !== null && u.lon !== null;
    map.rruAt(u.unit_id, live ? u.lon : u.base_lon, live ? u.lat : u.base_lat, u.status, `${u.name} (${u.status})`);
  }
}

// ------------------------------------------------------------------ gates

async function loadGates() {
  for (const g of await get("/gates")) state.gates.set(g.gate_id, { ...(state.gates.get(g.gate_id) || {}), ...g });
  renderGates();
}

function renderGates() {
  $("gate-list").replaceChildren(
    ...[...state.gates.values()].filter((g) => g.gate_id).map((g) =>
      el("li", { class: g.online === false || g.at_node === false ? "sev-critical" : "", "data-gate": g.gate_id, onclick: () => showGate(g.gate_id) },
        el("b", {}, g.gate_id), el("span", { class: "meta" }, ` node ${g.node_id || "-"} · ${g.online === null || g.online === undefined ? "never heard" : g.online ? "online" : "OFFLINE"}${g.at_node === false ? " · AWAY FROM ITS NODE" : ""}`))),
  );
  for (const g of state.gates.values()) {
    if (g.place) map.gateAt(g.gate_id, g.place.lon, g.place.lat, g.online === false ? "offline" : "", g.gate_id);
  }
}

async function showGate(gateId) {
  state.selectedGate = gateId;
  const [passages, decisions] = await Promise.all([
    guarded(() => get(`/passages?gate_id=${encodeURIComponent(gateId)}&limit=10`)),
    guarded(() => get(`/decisions?gate_id=${encodeURIComponent(gateId)}&limit=20`)),
  ]);
  if (!passages || !decisions || state.selectedGate !== gateId) return;
  const verdictOf = new Map();
  for (const d of [...decisions].reverse()) verdictOf.set(d.passage_id, d);
  // Live updates redraw the passages only: the override form stays as it is, so an
  // operator typing a reason keeps the focus and every keystroke.
  let detail = $("gate-detail").firstElementChild;
  if (!detail || detail.dataset.gate !== gateId) {
    detail = el("div", { "data-gate": gateId }, el("div", { class: "passages" }), overrideForm(gateId));
    $("gate-detail").replaceChildren(detail);
  }
  detail.querySelector(".passages").replaceChildren(
    el("h3", {}, `Gate ${gateId}: last passages`),
    el("table", {},
      el("tr", {}, el("th", {}, "closed"), el("th", {}, "lane"), el("th", {}, "read"), el("th", {}, "decision"), el("th", {}, "images")),
      ...passages.map((p) => {
        const d = verdictOf.get(p.passage_id);
        const images = p.identifiers.flatMap((i) => Object.entries(i.detail || {}).filter(([k]) => k.startsWith("image")).map(([, v]) => v));
        return el("tr", {}, el("td", {}, when(p.closed_at)), el("td", {}, p.lane_id),
          el("td", {}, p.identifiers.map((i) => `${i.kind} ${i.value}`).join(", ") || "nothing read"),
          el("td", {}, d ? `${d.verdict} ${d.reasons.join(",")}${d.executed ? " (barrier opened)" : ""}` : "-"),
          el("td", {}, ...images.filter((src) => /^(data:image\/|\/)/.test(src)).map((src) => el("img", { class: "evidence", src })), images.length ? "" : "none sent"));
      })),
  );
  setLanes(detail.querySelector("#override-lane"), [...new Set(passages.map((p) => p.lane_id))]);
}

function overrideForm(gateId) {
  const lane = el("select", { id: "override-lane" });
  const verdict = el("select", { id: "override-verdict" }, el("option", { value: "release" }, "release"), el("option", { value: "hold" }, "hold"));
  const reason = draft("textarea", `override-${gateId}`, { id: "override-reason", placeholder: "reason (mandatory, recorded)" });
  const none = el("p", { class: "meta no-lanes" }, "no passages: nothing to override");
  const form = el("form", { id: "override-form", class: "actions", onsubmit: (e) => {
    e.preventDefault();
    guarded(async () => {
      if (!lane.value) throw new Error("no passage in any lane: nothing to override");
      if (!reason.value.trim()) throw new Error("a reason is required");
      const result = await post(`/gates/${encodeURIComponent(gateId)}/lanes/${encodeURIComponent(lane.value)}/override`,
        { verdict: verdict.value, reason: reason.value });
      reason.value = "";
      clearDraft(`override-${gateId}`);
      $("notice").textContent = `override ${result.verdict} sent${result.published ? "" : " (stored; broker unreachable)"}`;
      showGate(gateId);
    });
  } }, "Override ", lane, verdict, reason, el("button", { class: "danger" }, "Send override"));
  return el("div", {}, form, none);
}

// The lanes that have passages, keeping the operator's choice; the form shows only
// when there is something to override.
function setLanes(select, lanes) {
  const chosen = select.value;
  const current = [...select.options].map((o) => o.value);
  if (current.join("\n") !== lanes.join("\n")) {
    select.replaceChildren(...lanes.map((l) => el("option", { value: l }, l)));
    if (lanes.includes(chosen)) select.value = chosen;
  }
  const holder = select.closest("form").parentElement;
  select.closest("form").hidden = lanes.length === 0;
  holder.querySelector(".no-lanes").hidden = lanes.length > 0;
}

// ------------------------------------------------------------------ look-up

$("lookup-form").onsubmit = (e) => {
  e.preventDefault();
  guarded(async () => {
    const hits = await get(`/lookup?q=${encodeURIComponent($("lookup-q").value)}`);
    $("lookup-result").replaceChildren(
      hits.length
        ? el("table", {},
            el("tr", {}, ...["movement", "declaration", "customs", "channel", "scan", "plate / containers", "state"].map((h) => el("th", {}, h))),
            ...hits.map((h) => el("tr", {}, el("td", {}, h.iot_id), el("td", {}, h.declaration_id), el("td", { class: "customs-status" }, h.customs_status || "?"),
              el("td", {}, h.channel || "-"), el("td", {}, h.scan_required ? (h.scan_validated ? "validated" : "required") : "-"),
              el("td", {}, [h.plate, ...h.containers].filter(Boolean).join(", ")), el("td", {}, `${h.state} (step ${h.position})`))))
        : el("p", {}, "nothing matches"),
    );
  });
};

start().catch(showError);
