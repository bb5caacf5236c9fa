// `/assets/<symbol>/`: candles with volume, an interval switcher, indicators from the
// catalogue, the forming candle live from the kline stream, anomaly markers, the latest
// forecast with its bands and the accuracy table. Scrolling left pages older candles by
// the history API's cursor.
import { CandlestickSeries, HistogramSeries, LineSeries, createSeriesMarkers } from "lightweight-charts";
import { ApiError, get, hasEndpoint, post } from "@mp/api.js";
import { bar, makeChart, markDrawn, seconds, upDown, volumeBar } from "@mp/chart.js";
import { onThemeChange } from "@mp/common.js";
import { el, pct, price, time, trend } from "@mp/fmt.js";
import { Indicators, catalogue } from "@mp/indicators.js";
import { LiveSocket } from "@mp/live.js";

const INTERVALS = ["1m", "5m", "15m", "1h", "4h", "1d", "1w"];
const KLINE_INTERVALS = ["1m", "5m", "15m", "1h", "4h", "1d"]; // the kline streams
const PAGE = 5000; // candles per request (the history API's maximum)
const symbol = document.getElementById("asset-title").dataset.symbol;
const container = document.getElementById("chart");
const params = new URLSearchParams(location.search);
let interval = INTERVALS.includes(params.get("interval")) ? params.get("interval") : "1h";
let quote = "USD";

const chart = makeChart(container);
const candles = chart.addSeries(CandlestickSeries, colors());
candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } }); // volume below
const volume = chart.addSeries(HistogramSeries, { priceScaleId: "volume", priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false });
chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
const markers = createSeriesMarkers(candles, []);
const indicators = new Indicators(chart, symbol);
let forecastSeries = [];
let data = []; // the candles shown, oldest first
let older = null; // the cursor to the candles before them
let loadingOlder = false;
let generation = 0; // bumped on each interval switch: late answers for the old one are dropped
let anomalies = [];

function colors() {
  const { up, down } = upDown();
  return { upColor: up, downColor: down, wickUpColor: up, wickDownColor: down, borderVisible: false };
}
onThemeChange(() => {
  candles.applyOptions(colors());
  volume.setData(data.map((c) => volumeBar(c)));
});

function showError(message) {
  const node = document.getElementById("chart-error");
  node.hidden = !message;
  node.textContent = message || "";
}

function meta() {
  container.dataset.interval = interval;
  container.dataset.bars = String(data.length);
  container.dataset.series = String(2 + indicators.seriesCount() + forecastSeries.length);
  document.getElementById("chart-meta").textContent = data.length
    ? `${data.length} candles of ${interval}, ${time(data[0].open_time)} to ${time(data[data.length - 1].close_time)}${older ? " (scroll left for older)" : ""}.`
    : `No ${interval} candles stored for ${symbol}.`;
}

// --- candles -------------------------------------------------------------------------

async function loadCandles() {
  const mine = ++generation;
  container.dataset.state = "loading";
  showError("");
  const page = await get(`/api/v1/prices/${symbol}/candles/`, { interval, order: "desc", limit: PAGE });
  if (mine !== generation) return;
  if (!performance.getEntriesByName("candles-received").length) performance.mark("candles-received");
  data = page.results.reverse();
  older = page.next;
  quote = page.quote;
  candles.setData(data.map(bar));
  volume.setData(data.map((c) => volumeBar(c)));
  chart.timeScale().fitContent();
  if (data.length > 200) chart.timeScale().setVisibleLogicalRange({ from: data.length - 200, to: data.length + 5 });
  placeMarkers();
  meta();
  markDrawn(container);
  await Promise.all([loadIndicators(), loadForecast()]);
}

async function loadOlder() {
  if (!older || loadingOlder) return;
  loadingOlder = true;
  const mine = generation;
  try {
    const page = await get(older);
    if (mine !== generation) return;
    const first = data.length ? data[0].open_time : null;
    const before = page.results.reverse().filter((c) => !first || c.open_time < first);
    older = page.next;
    if (!before.length) return;
    const range = chart.timeScale().getVisibleLogicalRange();
    data = before.concat(data);
    candles.setData(data.map(bar));
    volume.setData(data.map((c) => volumeBar(c)));
    // Keep the same candles in view: the logical indexes moved by the prepended count.
    if (range) chart.timeScale().setVisibleLogicalRange({ from: range.from + before.length, to: range.to + before.length });
    placeMarkers();
    meta();
    await loadIndicators();
  } finally {
    loadingOlder = false;
  }
}

chart.timeScale().subscribeVisibleLogicalRangeChange((range) => {
  if (range && range.from < 50) loadOlder().catch((e) => showError(`Older candles: ${e.message}`));
});

// The forming candle from `kline_<interval>`: built from prices only, so it is merged into
// the stored candle of the same open time rather than replacing it.
function onKline(k) {
  if (k.interval !== interval || !data.length) return;
  const last = data[data.length - 1];
  if (k.open_time < last.open_time) return;
  if (k.open_time === last.open_time) {
    Object.assign(last, { high: Math.max(last.high, k.high), low: Math.min(last.low, k.low), close: k.close, is_closed: k.is_closed });
  } else {
    data.push({ ...k, volume: k.volume ?? 0 });
  }
  const current = data[data.length - 1];
  candles.update(bar(current));
  volume.update(volumeBar(current));
  container.dataset.liveAt = k.as_of ?? k.open_time;
  meta();
}

// --- header: latest price ------------------------------------------------------------

function onPrice(p) {
  document.getElementById("asset-price").textContent = price(p.price, p.quote);
  document.getElementById("asset-source").textContent = `${p.source}, ${time(p.as_of)}`;
}

const socket = new LiveSocket("/ws/prices/", {
  onOpen: (s) => subscribe(s),
  onMessage: (m) => {
    if (m.type === "price" && m.symbol === symbol) onPrice(m);
    else if (m.type === "kline" && m.symbol === symbol) onKline(m);
    else if (m.type === "anomaly" && m.symbol === symbol) {
      anomalies.unshift({ ...m.anomaly, symbol: m.symbol });
      renderAnomalies();
    }
  },
});
let streams = [];
function subscribe(s) {
  streams = ["price", ...(KLINE_INTERVALS.includes(interval) ? [`kline_${interval}`] : [])];
  s.send({ action: "subscribe", symbols: [symbol], streams });
}
function resubscribe() {
  const old = streams.filter((st) => st !== "price");
  if (old.length) socket.send({ action: "unsubscribe", symbols: [symbol], streams: old });
  subscribe(socket);
}

// --- interval switcher ---------------------------------------------------------------

const switcher = document.getElementById("intervals");
for (const i of INTERVALS) {
  switcher.append(el("button", {
    type: "button", role: "radio", "aria-checked": String(i === interval), "data-interval": i, text: i,
    onclick: () => switchTo(i),
  }));
}
function switchTo(next) {
  if (next === interval) return;
  interval = next;
  for (const b of switcher.querySelectorAll("button")) b.setAttribute("aria-checked", String(b.dataset.interval === next));
  const u = new URL(location.href);
  u.searchParams.set("interval", next);
  history.replaceState(null, "", u);
  resubscribe();
  loadCandles().catch(failed);
}
switcher.addEventListener("keydown", (event) => {
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
  if (!step) return;
  const next = INTERVALS[(INTERVALS.indexOf(interval) + step + INTERVALS.length) % INTERVALS.length];
  switchTo(next);
  switcher.querySelector(`[data-interval="${next}"]`).focus();
});

// --- indicators ----------------------------------------------------------------------

const select = document.getElementById("indicator-name");
const periodInput = document.getElementById("indicator-period");
let entries = new Map();

async function setUpIndicators() {
  const { items } = await catalogue();
  entries = new Map(items.map((e) => [e.name, e]));
  const common = ["sma", "ema", "bbands", "rsi", "macd", "vwap"];
  const byGroup = new Map();
  for (const e of items) {
    const group = common.includes(e.name) ? "Common" : e.group;
    if (!byGroup.has(group)) byGroup.set(group, []);
    byGroup.get(group).push(e);
  }
  select.replaceChildren(...["Common", ...[...byGroup.keys()].filter((g) => g !== "Common").sort()].map((g) =>
    el("optgroup", { label: g }, ...byGroup.get(g).map((e) => el("option", { value: e.name, text: `${e.name.toUpperCase()} · ${e.display_name}` })))));
  select.value = "sma";
  syncPeriod();
}
function syncPeriod() {
  const p = entries.get(select.value) && Indicators.periodParam(entries.get(select.value));
  periodInput.disabled = !p;
  periodInput.value = p ? p.default : "";
}
select.addEventListener("change", syncPeriod);

document.getElementById("indicator-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const entry = entries.get(select.value);
  const period = periodInput.disabled ? null : Number(periodInput.value);
  if (!entry || indicators.has(entry.name, period)) return;
  const key = indicators.add(entry, period);
  renderChips();
  loadIndicators().catch((e) => {
    indicators.remove(key);
    renderChips();
    showError(`${entry.name.toUpperCase()}: ${e.message}`);
  });
});

function renderChips() {
  document.getElementById("active-indicators").replaceChildren(...indicators.active.map((a) =>
    el("li", { "data-indicator": a.key }, `${a.entry.name.toUpperCase()}${a.period ? ` ${a.period}` : ""}`,
      el("button", { type: "button", "aria-label": `Remove ${a.entry.name.toUpperCase()}${a.period ? ` ${a.period}` : ""}`, text: "×",
        onclick: () => { indicators.remove(a.key); renderChips(); loadIndicators().catch(failed); meta(); } }))));
}

async function loadIndicators() {
  if (!data.length || !indicators.active.length) return meta();
  const mine = generation;
  const shown = data.slice(-5000); // the indicators API computes at most 5,000 candles
  await indicators.load({ interval, start: shown[0].open_time, end: shown[shown.length - 1].close_time });
  if (mine === generation) meta();
}

// --- anomalies -----------------------------------------------------------------------

function placeMarkers() {
  if (!data.length) return markers.setMarkers([]);
  const first = seconds(data[0].open_time);
  const times = data.map((c) => seconds(c.open_time));
  const byCandle = new Map(); // one marker per candle, naming what was found there
  for (const a of anomalies) {
    const t = seconds(a.time);
    if (t < first) continue;
    // The candle the anomaly falls in: the last one opening at or before it.
    let lo = 0, hi = times.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (times[mid] <= t) lo = mid; else hi = mid - 1; }
    if (!byCandle.has(times[lo])) byCandle.set(times[lo], new Set());
    byCandle.get(times[lo]).add(a.kind.replaceAll("_", " "));
  }
  const list = [...byCandle].map(([t, kinds]) => ({ time: t, position: "aboveBar", color: "#e08a00", shape: "arrowDown", text: [...kinds].join(", ") }));
  list.sort((a, b) => a.time - b.time);
  markers.setMarkers(list);
  container.dataset.markers = String(list.length);
}

function renderAnomalies() {
  const list = document.getElementById("anomalies");
  list.replaceChildren(...anomalies.slice(0, 20).map((a) => el("li", { "data-anomaly": a.id ?? "" },
    el("strong", { text: a.kind.replaceAll("_", " ") }), " ",
    el("span", { class: "muted small", text: `${a.interval ?? ""} ${a.window ?? ""} score ${Number(a.score).toFixed(1)} · ${time(a.time)}` }))));
  if (!anomalies.length) list.append(el("li", { class: "muted", text: "No anomalies found." }));
  placeMarkers();
}

async function loadAnomalies() {
  const page = await get("/api/v1/analytics/anomalies/", { symbol, limit: 200 });
  anomalies = page.results;
  renderAnomalies();
}

// --- forecast and accuracy (skipped, "No forecast yet", while the API lacks them) --------

const signedIn = document.body.dataset.signedIn === "true";
const horizonSelect = document.getElementById("forecast-horizon");
const sourceSelect = document.getElementById("accuracy-source");
const makeButton = document.getElementById("forecast-make");

async function optional(name, path, query) {
  if (!(await hasEndpoint(name))) return null;
  try {
    return await get(path, query);
  } catch (error) {
    if (error instanceof ApiError && [401, 403, 404].includes(error.status)) return null;
    throw error;
  }
}

async function loadForecast() {
  for (const s of forecastSeries) chart.removeSeries(s);
  forecastSeries = [];
  const box = document.getElementById("forecast");
  const available = await hasEndpoint("analytics/predictions");
  if (makeButton) makeButton.hidden = !available;
  // Predictions are each user's own: anonymous visitors see the accuracy only.
  const page = signedIn ? await optional("analytics/predictions", "/api/v1/analytics/predictions/", { symbol, horizon: horizonSelect.value, limit: 1 }) : null;
  const latest = page && page.results && page.results[0];
  if (!latest) {
    box.replaceChildren(el("p", { class: "muted", id: "no-forecast", text: signedIn ? "No forecast yet." : "No forecast yet (forecasts are per user: sign in)." }));
    meta();
    return;
  }
  box.replaceChildren(el("p", { id: "forecast-point" },
    `${latest.model}: ${price(latest.price, quote)} at ${time(latest.target_time)} `,
    el("span", { class: "muted small", text: `(from ${price(latest.last_close, quote)} at ${time(latest.as_of)}, made ${time(latest.made_at)})` })));
  const intervals = latest.intervals || {};
  const rows = Object.entries(intervals).map(([level, [lo, hi]]) =>
    el("tr", {}, el("th", { scope: "row", text: `${level}%` }), el("td", { class: "num", text: price(lo, quote) }), el("td", { class: "num", text: price(hi, quote) })));
  if (rows.length) {
    box.append(el("table", { class: "data", "aria-label": "Forecast bands" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Band" }), el("th", { scope: "col", class: "num", text: "Low" }), el("th", { scope: "col", class: "num", text: "High" }))),
      el("tbody", {}, ...rows)));
  }
  // Drawn from the forecast's origin (its last close) to the target time: the point and
  // its 80% and 95% bands.
  const origin = seconds(latest.as_of);
  const target = seconds(latest.target_time);
  if (target > origin) {
    const start = { time: origin, value: latest.last_close };
    const line = (value, color, style) => {
      const s = chart.addSeries(LineSeries, { color, lineWidth: 1, lineStyle: style, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false });
      s.setData([start, { time: target, value }]);
      forecastSeries.push(s);
    };
    for (const [level, [lo, hi]] of Object.entries(intervals)) {
      const color = level === "95" ? "#9c27b055" : "#9c27b099";
      line(lo, color, 2);
      line(hi, color, 2);
    }
    line(latest.price, "#9c27b0", 0);
    createSeriesMarkers(forecastSeries[forecastSeries.length - 1], [{ time: target, position: "inBar", color: "#9c27b0", shape: "circle", text: "forecast" }]);
  }
  meta();
}

async function loadAccuracy() {
  const box = document.getElementById("accuracy");
  const body = await optional("analytics/accuracy", "/api/v1/analytics/accuracy/", { symbol, horizon: horizonSelect.value, source: sourceSelect.value });
  if (!body || !body.count) {
    box.replaceChildren(el("p", { class: "muted small", text: "No accuracy figures yet: forecasts are scored once their target time has passed." }));
    return;
  }
  const money = (v) => (v === null || v === undefined ? "–" : price(v, quote));
  const cells = [["Forecasts scored", `${body.targets ?? body.count} of ${body.count}`], ["Mean absolute error", money(body.mae)],
    ["Naive (price stays) MAE", money(body.naive_mae)],
    ["Skill vs naive", body.skill_vs_naive === null ? "–" : pct(body.skill_vs_naive * 100)]];
  for (const [level, figures] of Object.entries(body.intervals || {})) {
    cells.push([`${level}% band: coverage, mean width`, `${figures.coverage === null ? "–" : pct(figures.coverage * 100, { signed: false })}, ${money(figures.mean_width)}`]);
  }
  box.replaceChildren(
    el("p", { id: "verdict", text: body.verdict ?? "" }),
    el("table", { class: "data", "aria-label": "Forecast accuracy" }, el("tbody", {},
      ...cells.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { class: "num", text: v }))))));
}

horizonSelect.addEventListener("change", () => Promise.all([loadForecast(), loadAccuracy()]).catch(failed));
sourceSelect.addEventListener("change", () => loadAccuracy().catch(failed));
if (makeButton) {
  makeButton.addEventListener("click", async () => {
    makeButton.disabled = true;
    try {
      await post("/api/v1/analytics/predictions/", { symbol, horizon: horizonSelect.value });
      await Promise.all([loadForecast(), loadAccuracy()]);
    } catch (error) {
      showError(`Forecast: ${error.message}`);
    } finally {
      makeButton.disabled = false;
    }
  });
}

// --- start ---------------------------------------------------------------------------

function failed(error) {
  container.dataset.state = "error";
  showError(error instanceof ApiError && error.status === 404 ? `No asset ${symbol}.` : `Could not load the chart: ${error.message}`);
}

async function loadAsset() {
  const asset = await get(`/api/v1/assets/${symbol}/`);
  quote = asset.quote;
  document.getElementById("asset-title").textContent = `${asset.symbol} · ${asset.name}`;
  onPrice({ price: asset.price, quote: asset.quote, source: asset.source, as_of: asset.as_of });
  const change = document.getElementById("asset-change");
  change.textContent = `${pct(asset.change_24h)} 24h`;
  change.className = `num ${trend(asset.change_24h)}`;
  socket.start();
}

// All at once: the chart does not wait for the header's request. The accuracy table waits
// for it: its figures are in the asset's quote, and an unknown symbol has none to ask for.
Promise.all([loadAsset().then(loadAccuracy), loadCandles(), setUpIndicators(), loadAnomalies().then(placeMarkers)]).catch(failed);
