// The RRU page: the unit's incidents (where, what, who, evidence, response clock),
// acknowledge, on scene, resolve with a report; availability; share the position.
import { ApiError, clearDraft, clock, draft, el, get, liveStream, login, patch, post, when } from "./api.js";

const $ = (id) => document.getElementById(id);
let unitId = null;
let unit = null;

function showError(err) {
  $("error").textContent = err ? String(err.message || err) : "";
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

async function start() {
  let me;
  try {
    me = await get("/auth/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return askLogin();
    throw err;
  }
  $("open-mode").hidden = !me.open_mode;
  const wanted = new URLSearchParams(location.search).get("unit");
  unitId = me.role === "rru" ? me.unit_id : wanted;
  if (me.role !== "rru") {
    // a dispatcher (or open mode) picks the unit whose page to see
    const units = await get("/rrus");
    const select = $("unit-select");
    select.replaceChildren(el("option", { value: "" }, "choose…"), ...units.map((u) => el("option", { value: u.unit_id }, `${u.unit_id} ${u.name}`)));
    select.value = unitId || "";
    select.onchange = () => {
      location.search = `?unit=${encodeURIComponent(select.value)}`;
    };
    $("choose-unit").hidden = false;
  }
  if (!unitId) return;
  await Promise.all([loadUnit(), loadIncidents()]);
  liveStream(
    (kind, data) => {
      if (kind === "incident" && (data.unit_id === unitId || seen.has(data.incident_id))) loadIncidents();
      if (kind === "unit" && data.unit_id === unitId) showUnit(data);
    },
    (s) => {
      $("live-state").textContent = s === "live" ? "live" : "offline";
      $("live-state").className = `pill ${s === "live" ? "live" : "down"}`;
      if (s === "live") loadIncidents().catch(showError);
    },
  );
  setInterval(() => {
    for (const node of document.querySelectorAll("[data-due]")) node.textContent = clock(node.dataset.due);
  }, 1000);
}

function askLogin() {
  $("login").showModal();
  $("login-form").onsubmit = async (e) => {
    e.preventDefault();
    try {
      await login($("login-user").value, $("login-password").value);
      location.reload();
    } catch (err) {
      $("login-error").textContent = err.message;
    }
  };
}

async function loadUnit() {
  showUnit(await get(`/rrus/${encodeURIComponent(unitId)}`));
}

function showUnit(u) {
  unit = u;
  $("unit-name").textContent = `${u.name || u.unit_id} (${u.unit_id})`;
  $("unit-status").textContent = u.status;
  $("toggle-duty").textContent = u.status === "off_duty" ? "Go on duty" : "Go off duty";
}

$("toggle-duty").onclick = () =>
  guarded(async () => showUnit(await patch(`/rrus/${encodeURIComponent(unitId)}`, { status: unit.status === "off_duty" ? "available" : "off_duty" })));

$("share-position").onclick = () => {
  if (!navigator.geolocation) return showError("this device has no location");
  navigator.geolocation.getCurrentPosition(
    (p) => guarded(async () => showUnit(await post(`/rrus/${encodeURIComponent(unitId)}/position`, { lat: p.coords.latitude, lon: p.coords.longitude }))),
    (err) => showError(err.message),
  );
};

const seen = new Set();

async function loadIncidents() {
  const list = await get(`/incidents?unit_id=${encodeURIComponent(unitId)}&limit=50`);
  for (const i of list) seen.add(i.incident_id);
  $("rru-incidents").replaceChildren(...(list.length ? list.map(item) : [el("li", {}, "No incidents for this unit.")]));
}

function item(i) {
  const report = draft("textarea", `report-${i.incident_id}`, { placeholder: "report: what you found, what you did" });
  const evidence = el("div", {});
  const step = (path) => () =>
    guarded(async () => {
      await post(`/incidents/${i.incident_id}/${path}`, { note: report.value });
      if (path === "resolve") clearDraft(`report-${i.incident_id}`);
      await loadIncidents();
    });
  const where = i.lat !== null ? `${i.lat.toFixed(5)}, ${i.lon.toFixed(5)}` : "location not known";
  const running = ["dispatched", "acknowledged"].includes(i.status);
  return el("li", { class: `incident sev-${i.severity}`, id: i.incident_id, "data-id": i.incident_id },
    el("div", {}, el("span", { class: `badge ${i.severity}` }, i.severity), el("b", {}, i.title)),
    el("div", { class: "meta" }, el("span", { class: "status" }, i.status), ` · opened ${when(i.opened_at)} · ${where}`,
      i.iot_id ? ` · movement ${i.iot_id}` : ""),
    running ? el("div", {}, "Respond by ", when(i.due_at), ": ", el("span", { class: "clock", "data-due": i.due_at }, clock(i.due_at))) : "",
    ["dispatched", "acknowledged", "on_scene"].includes(i.status)
      ? el("div", { class: "actions" },
          i.status === "dispatched" ? el("button", { class: "primary", onclick: step("acknowledge") }, "Acknowledge") : "",
          i.status !== "on_scene" ? el("button", { onclick: step("on-scene") }, "On scene") : "",
          el("button", { class: "danger", onclick: step("resolve") }, "Resolve"))
      : "",
    ["dispatched", "acknowledged", "on_scene"].includes(i.status) ? report : "",
    el("button", { onclick: () => guarded(async () => {
      const ev = await get(`/incidents/${i.incident_id}/evidence`);
      evidence.replaceChildren(
        el("div", { class: "meta" }, `${ev.alerts.length} alert(s), ${ev.passages.length} passage(s), ${ev.track.points.length} track point(s), ${ev.seal_events.length} seal event(s)`),
        ...ev.alerts.map((a) => el("div", { class: "meta" }, `${when(a.raised_at)} ${a.rule}: ${a.summary}`)),
        ...ev.passages.map((p) => el("div", { class: "meta" }, `${when(p.closed_at)} ${p.gate_id}: ${p.identifiers.map((x) => `${x.kind} ${x.value}`).join(", ")}`)),
      );
    }) }, "Evidence"),
    evidence,
  );
}

start().catch(showError);
