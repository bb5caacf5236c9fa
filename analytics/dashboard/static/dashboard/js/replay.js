// `/replay/`: stored candles streamed by `/ws/replay/` at a chosen speed, with pause,
// resume, seek and speed controls and a progress bar. A dropped connection resumes from
// the last candle received.
import { CandlestickSeries } from "lightweight-charts";
import { all, get } from "@mp/api.js";
import { bar, makeChart, markDrawn, seconds, upDown } from "@mp/chart.js";
import { onThemeChange } from "@mp/common.js";
import { el, time } from "@mp/fmt.js";
import { LiveSocket } from "@mp/live.js";

const $ = (id) => document.getElementById(id);
const container = $("chart");
const chart = makeChart(container);
const series = chart.addSeries(CandlestickSeries, colors());
function colors() {
  const { up, down } = upDown();
  return { upColor: up, downColor: down, wickUpColor: up, wickDownColor: down, borderVisible: false };
}
onThemeChange(() => series.applyOptions(colors()));

// datetime-local inputs hold UTC here (labelled so): no local-time surprises.
const toInput = (iso) => iso.slice(0, 16);
const fromInput = (value) => new Date(`${value}:00Z`).toISOString().replace(".000Z", "Z");

let socket = null;
let replay = null; // {symbol, interval, start, end, speed, received, total, last}
let paused = false;

function setStatus(text) {
  $("replay-status").textContent = text;
  container.dataset.replay = text;
}

function controls(enabled) {
  for (const id of ["replay-pause", "replay-speed-live", "replay-seek", "replay-seek-go"]) $(id).disabled = !enabled;
}

function progress() {
  const { received, total, seqBase } = replay;
  $("replay-count").textContent = String(received);
  container.dataset.received = String(received);
  const done = seqBase + received;
  $("replay-progress").max = total || 1;
  $("replay-progress").value = total ? Math.min(done, total) : 0;
  $("replay-at").textContent = replay.last ? time(replay.last.close_time) : "–";
}

function path() {
  // After a drop, start again just after the last candle shown.
  const start = replay.last ? replay.last.close_time : replay.start;
  const q = new URLSearchParams({ symbol: replay.symbol, interval: replay.interval, start, end: replay.end, speed: replay.speed });
  return `/ws/replay/?${q}`;
}

function onMessage(m) {
  if (m.type === "candle") {
    replay.received += 1;
    replay.last = m;
    series.update(bar(m));
    if (replay.received === 1) markDrawn(container);
    progress();
  } else if (m.type === "status") {
    if (m.status === "starting") {
      if (replay.total === null) replay.total = m.total;
      setStatus(paused ? "Paused" : "Playing");
      if (paused) socket.send({ action: "pause" });
    } else if (m.status === "counted" && replay.total === null) {
      replay.total = m.total;
    } else if (m.status === "paused") {
      setStatus("Paused");
    } else if (m.status === "resumed") {
      setStatus("Playing");
    } else if (m.status === "speed") {
      setStatus(`Playing at ${m.speed}/s`);
    } else if (m.status === "seeked") {
      const at = seconds(m.time);
      const kept = series.data().filter((b) => b.time < at);
      series.setData(kept);
      replay.received = kept.length;
      replay.seqBase = m.seq - kept.length;
      replay.last = { close_time: m.time };
      setStatus(`Seeked to ${time(m.time)}`);
    } else if (m.status === "complete") {
      setStatus("Complete");
      replay.complete = true;
      controls(false);
      socket.stop();
    }
    progress();
  } else if (m.type === "error") {
    setStatus(`Error: ${m.message}`);
    if (["invalid_time", "invalid_speed"].includes(m.code)) return; // the replay goes on
    replay.failed = true;
    socket.stop();
    controls(false);
  }
}

function start(event) {
  event.preventDefault();
  if (socket) socket.stop();
  series.setData([]);
  paused = false;
  $("replay-pause").textContent = "Pause";
  replay = {
    symbol: $("replay-symbol").value, interval: $("replay-interval").value,
    start: fromInput($("replay-start").value), end: fromInput($("replay-end").value),
    speed: Number($("replay-speed").value), received: 0, total: null, seqBase: 0, last: null,
  };
  $("replay-seek").min = $("replay-start").value;
  $("replay-seek").max = $("replay-end").value;
  $("replay-seek").value = $("replay-start").value;
  container.dataset.state = "empty";
  setStatus("Starting…");
  progress();
  controls(true);
  socket = new LiveSocket(path, { onMessage }).start();
}

$("replay-pause").addEventListener("click", () => {
  paused = !paused;
  socket.send({ action: paused ? "pause" : "resume" });
  $("replay-pause").textContent = paused ? "Resume" : "Pause";
  $("replay-pause").setAttribute("aria-pressed", String(paused));
});
$("replay-speed-live").addEventListener("change", (e) => {
  replay.speed = Number(e.target.value);
  socket.send({ action: "speed", speed: replay.speed });
});
$("replay-seek-go").addEventListener("click", () => {
  socket.send({ action: "seek", time: fromInput($("replay-seek").value) });
});
$("replay-form").addEventListener("submit", start);

// A range that has candles: the latest 200 of the symbol and interval chosen.
async function suggestRange() {
  const page = await get(`/api/v1/prices/${$("replay-symbol").value}/candles/`, { interval: $("replay-interval").value, order: "desc", limit: 200 });
  if (!page.results.length) return;
  $("replay-start").value = toInput(page.results[page.results.length - 1].open_time);
  $("replay-end").value = toInput(page.results[0].close_time);
}

async function main() {
  const assets = await all("/api/v1/assets/", { tracked: "true", ordering: "rank", limit: 250 });
  $("replay-symbol").replaceChildren(...assets.map((a) => el("option", { value: a.symbol, text: `${a.symbol} · ${a.name}` })));
  const wanted = new URLSearchParams(location.search).get("symbol");
  if (wanted) $("replay-symbol").value = wanted.toUpperCase();
  await suggestRange();
  $("replay-symbol").addEventListener("change", suggestRange);
  $("replay-interval").addEventListener("change", suggestRange);
}
main().catch((e) => setStatus(`Could not load: ${e.message}`));
