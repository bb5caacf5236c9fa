// `/`: tracked assets with live prices, the market figures, movers and latest anomalies.
import { all, get } from "@mp/api.js";
import { ago, compact, el, pct, price, time, trend } from "@mp/fmt.js";
import { priceSockets } from "@mp/live.js";

const STALE_SECONDS = 15 * 60; // beat syncs prices every 5 minutes: three missed is stale
const tbody = document.querySelector("#assets tbody");
const rows = new Map(); // symbol -> {row, priceCell, price}
let newest = null; // the newest as_of and source seen

function sparkline(closes, width = 120, height = 28) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  if (closes.length < 2) return el("span", { class: "muted small", text: "no 7-day history" });
  const low = Math.min(...closes), high = Math.max(...closes);
  const points = closes.map((c, i) => {
    const x = (i / (closes.length - 1)) * width;
    const y = height - 2 - ((c - low) / (high - low || 1)) * (height - 4);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  const rising = closes[closes.length - 1] >= closes[0];
  line.setAttribute("stroke", rising ? "var(--up)" : "var(--down)");
  svg.setAttribute("aria-label", `7 days: ${rising ? "up" : "down"} ${pct(((closes[closes.length - 1] / closes[0]) - 1) * 100)}`);
  svg.append(line);
  return svg;
}

// Sparklines load as their rows scroll into view, a few at a time.
let loading = 0;
const waiting = [];
function loadSparkline(asset, cell) {
  if (loading >= 4) return waiting.push([asset, cell]);
  loading += 1;
  const end = asset.as_of ? new Date(asset.as_of) : new Date();
  const start = new Date(end.getTime() - 7 * 86400e3);
  get(`/api/v1/prices/${asset.symbol}/candles/`, {
    interval: "4h", start: start.toISOString(), end: end.toISOString(), limit: 100,
  })
    .then((page) => cell.replaceChildren(sparkline(page.results.map((c) => c.close))))
    .catch(() => cell.replaceChildren(el("span", { class: "muted small", text: "–" })))
    .finally(() => {
      loading -= 1;
      if (waiting.length) loadSparkline(...waiting.shift());
    });
}
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    observer.unobserve(entry.target);
    loadSparkline(entry.target.asset, entry.target);
  }
}, { rootMargin: "200px" });

function changeCell(value) {
  return el("td", { class: `num ${trend(value)}`, text: pct(value) });
}

function renderRows(assets) {
  const fragment = document.createDocumentFragment();
  for (const asset of assets) {
    const priceCell = el("td", { class: "num price", text: price(asset.price, asset.quote) });
    const spark = el("td", { class: "spark-cell" });
    spark.asset = asset;
    const row = el("tr", { "data-symbol": asset.symbol },
      el("td", { class: "num muted", text: asset.rank ?? "–" }),
      el("td", {}, el("a", { href: `/assets/${asset.symbol}/`, text: asset.symbol }), " ",
        el("span", { class: "muted small", text: asset.name })),
      priceCell,
      changeCell(asset.change_24h),
      el("td", { class: "num", text: compact(asset.market_cap, asset.quote) }),
      el("td", { class: "num", text: compact(asset.volume_24h, asset.quote) }),
      spark,
    );
    rows.set(asset.symbol, { row, priceCell, price: asset.price, quote: asset.quote });
    fragment.append(row);
    observer.observe(spark);
    seen(asset.as_of, asset.source);
  }
  tbody.replaceChildren(fragment);
  if (!assets.length) tbody.append(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No tracked assets yet." })));
}

function seen(asOf, source) {
  if (!asOf) return;
  if (!newest || new Date(asOf) > new Date(newest.asOf)) newest = { asOf, source };
  banner();
}

function banner() {
  const node = document.getElementById("source-banner");
  const freshness = document.getElementById("freshness");
  if (!newest) {
    freshness.textContent = "No prices yet.";
    return;
  }
  const age = (Date.now() - new Date(newest.asOf).getTime()) / 1000;
  freshness.textContent = `Prices from ${newest.source}, last update ${time(newest.asOf)} (${ago(newest.asOf)}).`;
  const notes = [];
  if (newest.source === "replay") notes.push("Demo data: prices are recorded history replayed as if live (source: replay).");
  if (age > STALE_SECONDS) notes.push(`Prices are stale: the last update was ${ago(newest.asOf)}.`);
  node.hidden = notes.length === 0;
  node.textContent = notes.join(" ");
  node.dataset.stale = String(age > STALE_SECONDS);
  node.dataset.source = newest.source;
}
setInterval(banner, 10_000);

function onPrice(message) {
  if (message.type !== "price") return;
  const entry = rows.get(message.symbol);
  if (!entry) return;
  const direction = message.price > entry.price ? "flash-up" : message.price < entry.price ? "flash-down" : null;
  entry.price = message.price;
  entry.priceCell.textContent = price(message.price, message.quote);
  entry.priceCell.dataset.asOf = message.as_of;
  if (direction) {
    entry.priceCell.classList.remove("flash-up", "flash-down");
    void entry.priceCell.offsetWidth; // restart the animation
    entry.priceCell.classList.add(direction);
  }
  seen(message.as_of, message.source);
}

function moverItem(m) {
  return el("li", {}, el("a", { href: `/assets/${m.symbol}/`, text: m.symbol }), " ",
    el("span", { class: `num ${trend(m.change_24h)}`, text: pct(m.change_24h) }));
}

async function loadMarket() {
  const market = await get("/api/v1/analytics/market/");
  const q = market.quote;
  document.getElementById("total-cap").textContent = compact(market.total_market_cap.value, q);
  document.getElementById("total-volume").textContent = compact(market.total_volume_24h.value, q);
  const b = market.breadth;
  document.getElementById("breadth").textContent = `${b.advancing} / ${b.declining}`;
  document.getElementById("dominance").replaceChildren(
    ...market.dominance.results.slice(0, 3).map((d) =>
      el("span", { class: "num", text: `${d.symbol} ${pct(d.share * 100, { signed: false })}  ` })),
  );
  document.getElementById("gainers").replaceChildren(el("li", { class: "muted small", text: "Gainers" }), ...market.gainers.results.map(moverItem));
  document.getElementById("losers").replaceChildren(el("li", { class: "muted small", text: "Losers" }), ...market.losers.results.map(moverItem));
}

export function anomalyItem(a) {
  return el("li", { "data-anomaly": a.id },
    el("a", { href: `/assets/${a.symbol}/`, text: a.symbol }), " ",
    el("strong", { text: a.kind.replaceAll("_", " ") }), " ",
    el("span", { class: "muted small", text: `${a.interval ?? ""} ${a.window ?? ""} score ${Number(a.score).toFixed(1)} · ${time(a.time)}` }));
}

async function loadAnomalies() {
  const page = await get("/api/v1/analytics/anomalies/", { limit: 10 });
  const list = document.getElementById("anomalies");
  list.replaceChildren(...page.results.map(anomalyItem));
  if (!page.results.length) list.append(el("li", { class: "muted", text: "No anomalies found." }));
}

async function main() {
  const assets = await all("/api/v1/assets/", { tracked: "true", ordering: "rank", limit: 250 }, 1000);
  renderRows(assets);
  priceSockets(assets.map((a) => a.symbol), ["price"], onPrice);
  await Promise.all([loadMarket(), loadAnomalies()]);
}

main().catch((error) => {
  tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "error", text: `Could not load: ${error.message}` })));
});
