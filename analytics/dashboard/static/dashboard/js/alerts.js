// `/alerts/` (signed in): create, edit, disable and delete alerts of every kind, and the
// events they fired; new events arrive live from /ws/alerts/ (common.js).
import { ApiError, all, del, get, options, patch, post } from "@mp/api.js";
import { el, price, time } from "@mp/fmt.js";

const $ = (id) => document.getElementById(id);
const form = $("alert-form");
const DIRECTIONS = { price: ["above", "below"], indicator: ["above", "below"], move: ["up", "down"] };
// The fields each kind reads (the API refuses the others).
const FIELDS = {
  price: ["direction", "level"],
  move: ["direction", "percent", "window"],
  indicator: ["direction", "level", "indicator", "params", "output", "interval"],
  anomaly: ["anomaly_kind"],
};
let editing = null; // the alert being edited
let olderEvents = null;

function fill(select, values, labels = {}) {
  select.replaceChildren(...values.map((v) => el("option", { value: v, text: labels[v] ?? v })));
}

function showKind() {
  const kind = form.elements.kind.value;
  form.dataset.kind = kind;
  for (const label of form.querySelectorAll("label[data-for]")) {
    label.hidden = !label.dataset.for.split(" ").includes(kind);
  }
  if (DIRECTIONS[kind]) {
    const current = form.elements.direction.value;
    fill(form.elements.direction, DIRECTIONS[kind]);
    if (DIRECTIONS[kind].includes(current)) form.elements.direction.value = current;
  }
}
form.elements.kind.addEventListener("change", showKind);

function body() {
  const f = form.elements;
  const kind = f.kind.value;
  const data = { symbol: f.symbol.value.trim().toUpperCase(), kind, note: f.note.value,
    channels: [...form.querySelectorAll("input[name=channels]:checked")].map((c) => c.value) };
  const number = (v) => (v === "" ? null : Number(v));
  for (const field of FIELDS[kind]) {
    if (field === "params") data.params = f.timeperiod.value ? { timeperiod: Number(f.timeperiod.value) } : {};
    else if (field === "level" || field === "percent") data[field] = number(f[field].value);
    else if (field !== "output" || f.output.value) data[field] = f[field].value;
  }
  if (f.hysteresis.value !== "") data.hysteresis = Number(f.hysteresis.value);
  if (f.cooldown.value !== "") data.cooldown = Number(f.cooldown.value);
  return data;
}

function clearErrors() {
  for (const node of form.querySelectorAll("[data-error-for]")) node.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  $("alert-error").hidden = true;
}

function showErrors(error) {
  const details = error.status === 400 ? error.details || {} : {};
  let placed = false;
  for (const [name, messages] of Object.entries(details)) {
    const slot = form.querySelector(`[data-error-for="${name}"]`);
    if (!slot) continue;
    slot.textContent = [].concat(messages).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ");
    const input = form.elements[name === "params" ? "timeperiod" : name];
    if (input && input.setAttribute) {
      input.setAttribute("aria-invalid", "true");
      slot.id ||= `error-${name}`;
      input.setAttribute("aria-describedby", slot.id);
    }
    placed = true;
  }
  if (!placed) {
    $("alert-error").hidden = false;
    $("alert-error").textContent = error.message;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const submit = $("alert-submit");
  submit.disabled = true; // one save at a time
  try {
    if (editing) await patch(`/api/v1/alerts/${editing.id}/`, body());
    else await post("/api/v1/alerts/", body());
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showErrors(error);
    return;
  } finally {
    submit.disabled = false;
  }
  stopEditing();
  await loadAlerts();
});

function edit(alert) {
  editing = alert;
  const f = form.elements;
  form.reset();
  f.symbol.value = alert.symbol;
  f.kind.value = alert.kind;
  showKind();
  for (const name of ["direction", "window", "indicator", "output", "interval", "anomaly_kind", "note"]) {
    if (alert[name] !== undefined && alert[name] !== null && f[name]) f[name].value = alert[name];
  }
  for (const name of ["level", "percent", "hysteresis", "cooldown"]) f[name].value = alert[name] ?? "";
  f.timeperiod.value = (alert.params && alert.params.timeperiod) || "";
  for (const box of form.querySelectorAll("input[name=channels]")) box.checked = alert.channels.includes(box.value);
  $("alert-form-title").textContent = `Edit alert ${alert.id}`;
  $("alert-submit").textContent = "Save alert";
  $("alert-cancel").hidden = false;
  f.symbol.focus();
}

function stopEditing() {
  editing = null;
  form.reset();
  showKind();
  $("alert-form-title").textContent = "New alert";
  $("alert-submit").textContent = "Create alert";
  $("alert-cancel").hidden = true;
}
$("alert-cancel").addEventListener("click", stopEditing);

async function loadAlerts() {
  const alerts = await all("/api/v1/alerts/", { limit: 250 }, 1000);
  const list = $("alerts");
  list.replaceChildren(...alerts.map((a) => el("li", { class: "alert-item", "data-alert": a.id, "data-enabled": String(a.enabled) },
    el("span", { class: "what" }, el("strong", { text: a.description }),
      a.note ? el("span", { class: "muted small", text: ` · ${a.note}` }) : null),
    el("span", { class: "small muted", text: `${a.enabled ? (a.armed ? "armed" : "fired, re-arming") : "disabled"} · fired ${a.fired_count}×${a.last_fired_at ? `, last ${time(a.last_fired_at)}` : ""}` }),
    el("button", { type: "button", text: "Edit", "aria-label": `Edit ${a.description}`, onclick: () => edit(a) }),
    el("button", { type: "button", text: a.enabled ? "Disable" : "Enable", "aria-label": `${a.enabled ? "Disable" : "Enable"} ${a.description}`,
      onclick: () => patch(`/api/v1/alerts/${a.id}/`, { enabled: !a.enabled }).then(loadAlerts) }),
    el("button", { type: "button", text: "Delete", "aria-label": `Delete ${a.description}`,
      onclick: () => del(`/api/v1/alerts/${a.id}/`).then(loadAlerts) }))));
  if (!alerts.length) list.append(el("li", { class: "muted", text: "No alerts yet." }));
}

function eventRow(e) {
  const delivered = Object.entries(e.deliveries || {}).map(([channel, d]) => `${channel}: ${(d && d.status) || d}`).join(", ");
  return el("tr", { "data-event": e.id },
    el("td", { text: time(e.fired_at) }), el("td", { text: e.symbol }),
    el("td", { text: e.message || e.kind }),
    el("td", { class: "num", text: e.price === null || e.price === undefined ? "–" : price(e.price) }),
    el("td", { class: "small", text: delivered || "–" }));
}

async function loadEvents(next) {
  const page = await get(next || "/api/v1/alerts/events/", next ? undefined : { limit: 20 });
  const rows = page.results.map(eventRow);
  const tbody = $("events").querySelector("tbody");
  if (next) tbody.append(...rows);
  else tbody.replaceChildren(...rows);
  olderEvents = page.next;
  $("events-more").hidden = !olderEvents;
}
$("events-more").addEventListener("click", () => loadEvents(olderEvents));

addEventListener("mp-alert", (event) => {
  const tbody = $("events").querySelector("tbody");
  if (!tbody.querySelector(`[data-event="${event.detail.id}"]`)) tbody.prepend(eventRow(event.detail));
  loadAlerts();
});

async function main() {
  const [meta, assets, catalogue] = await Promise.all([
    options("/api/v1/alerts/"),
    all("/api/v1/assets/", { tracked: "true", ordering: "rank", limit: 250 }),
    get("/api/v1/analytics/indicators/"),
  ]);
  const fields = meta.actions.POST;
  const choices = (name) => fields[name].choices.map((c) => c.value);
  fill(form.elements.kind, choices("kind"));
  fill(form.elements.window, choices("window"));
  fill(form.elements.interval, choices("interval"));
  form.elements.interval.value = "1h";
  form.elements.anomaly_kind.append(...choices("anomaly_kind").map((v) => el("option", { value: v, text: v.replaceAll("_", " ") })));
  $("symbols").replaceChildren(...assets.map((a) => el("option", { value: a.symbol, label: a.name })));
  $("indicators").replaceChildren(...catalogue.results.map((i) => el("option", { value: i.name, label: i.display_name })));
  showKind();
  await Promise.all([loadAlerts(), loadEvents()]);
}
main().catch((e) => {
  $("alert-error").hidden = false;
  $("alert-error").textContent = `Could not load: ${e.message}`;
});
