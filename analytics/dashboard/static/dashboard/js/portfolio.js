// `/portfolio/` (signed in): positions, P&L, allocation, value over time with the
// time-weighted return, trades, and a form to record one (the API's errors shown next to
// their field; a 409 oversell explained).
import { AreaSeries } from "lightweight-charts";
import { ApiError, all, get, post } from "@mp/api.js";
import { makeChart, markDrawn, seconds } from "@mp/chart.js";
import { el, money, pct, price, quantity, time, trend } from "@mp/fmt.js";

const $ = (id) => document.getElementById(id);
const select = $("portfolio-select");
const form = $("trade-form");
let portfolio = null;
let chart = null;
let valueSeries = null;

function signed(node, value, text) {
  node.textContent = text;
  node.className = `num ${trend(value)}`;
}

async function loadPortfolios(selectId) {
  const portfolios = await all("/api/v1/portfolios/", { limit: 250 });
  $("portfolio-create").hidden = portfolios.length > 0;
  form.querySelector("button[type=submit]").disabled = portfolios.length === 0;
  select.replaceChildren(...portfolios.map((p) => el("option", { value: p.id, text: `${p.name} (${p.cost_basis_method})` })));
  select.disabled = portfolios.length === 0;
  if (!portfolios.length) {
    $("positions").querySelector("tbody").replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No portfolio yet: create one to record trades." })));
    return;
  }
  const stored = Number(selectId ?? sessionStorage.getItem("mp-portfolio"));
  portfolio = portfolios.find((p) => p.id === stored) ?? portfolios[0];
  select.value = String(portfolio.id);
  await refresh();
}

async function refresh() {
  const base = `/api/v1/portfolios/${portfolio.id}`;
  const [positions, pnl, trades] = await Promise.all([get(`${base}/positions/`), get(`${base}/pnl/`), all(`${base}/trades/`, { limit: 250 }, 500)]);
  const currency = pnl.currency;
  renderPositions(positions, currency);
  const value = positions.reduce((sum, p) => sum + Number(p.market_value ?? 0), 0);
  $("pnl-value").textContent = money(value, currency);
  signed($("pnl-unrealized"), pnl.unrealized, money(pnl.unrealized, currency));
  signed($("pnl-realized"), pnl.realized, money(pnl.realized, currency));
  $("pnl-fees").textContent = money(pnl.fees, currency);
  renderTrades(trades, currency);
  await loadPerformance(currency, trades);
}

function renderPositions(positions, currency) {
  const body = $("positions").querySelector("tbody");
  body.replaceChildren(...positions.map((p) => el("tr", { "data-symbol": p.symbol },
    el("td", {}, el("a", { href: `/assets/${p.symbol}/`, text: p.symbol })),
    el("td", { class: "num quantity", text: quantity(p.quantity) }),
    el("td", { class: "num", text: price(p.average_cost, currency) }),
    el("td", { class: "num", text: price(p.price, currency) }),
    el("td", { class: "num", text: money(p.market_value, currency) }),
    el("td", { class: `num ${trend(p.unrealized_pnl)}`, text: `${money(p.unrealized_pnl, currency)} (${pct(p.unrealized_pnl_pct)})` }),
    el("td", { class: `num ${trend(p.realized_pnl)}`, text: money(p.realized_pnl, currency) }),
    el("td", {}, el("span", { class: "bar", style: `width: ${Math.max(1, Number(p.allocation_pct ?? 0))}px` }), " ",
      el("span", { class: "num small", text: pct(p.allocation_pct, { signed: false }) })),
  )));
  if (!positions.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No positions: record a trade below." })));
}

function renderTrades(trades, currency) {
  $("trades").querySelector("tbody").replaceChildren(...trades.map((t) => el("tr", { "data-trade": t.id },
    el("td", { text: time(t.executed_at) }), el("td", { text: t.symbol }), el("td", { text: t.side }),
    el("td", { class: "num", text: quantity(t.quantity) }), el("td", { class: "num", text: price(t.price, currency) }),
    el("td", { class: "num", text: money(t.fee, currency) }))));
}

// From the first trade, in the finest interval that covers it in the API's 1,000 points.
const STEPS = [["1h", 3600e3], ["4h", 4 * 3600e3], ["1d", 86400e3], ["1w", 7 * 86400e3]];
function performanceQuery(trades) {
  if (!trades.length) return { interval: "1d" };
  const first = trades.reduce((a, t) => (t.executed_at < a ? t.executed_at : a), trades[0].executed_at);
  const span = Date.now() - new Date(first).getTime();
  const [interval] = STEPS.find(([, ms]) => span / ms < 990) ?? STEPS[STEPS.length - 1];
  return { interval, start: first };
}

async function loadPerformance(currency, trades) {
  const query = performanceQuery(trades);
  const perf = await get(`/api/v1/portfolios/${portfolio.id}/performance/`, query);
  const twr = perf.time_weighted_return_pct;
  signed($("twr"), twr, twr === null ? "–" : pct(twr));
  const points = perf.points.filter((p) => p.value !== null).map((p) => ({ time: seconds(p.time), value: Number(p.value) }));
  const box = $("value-chart");
  if (!chart) {
    chart = makeChart(box, { timeScale: { timeVisible: false } });
    valueSeries = chart.addSeries(AreaSeries, { lineColor: "#2962ff", topColor: "#2962ff55", bottomColor: "#2962ff05", lineWidth: 2 });
  }
  valueSeries.setData(points);
  chart.timeScale().fitContent();
  if (points.length) markDrawn(box);
  $("value-meta").textContent = points.length
    ? `Closes of ${perf.interval} from ${time(perf.start)} to ${time(perf.end)} in ${currency}; time-weighted return ${twr === null ? "–" : pct(twr)}.`
    : "No value history yet.";
}

// --- forms -----------------------------------------------------------------------------

function clearErrors(scope) {
  for (const node of scope.querySelectorAll("[data-error-for]")) node.textContent = "";
  for (const input of scope.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showErrors(scope, error, general) {
  // A 400's details name the fields; a 409's describe the conflict (the message says it).
  const fields = error.status === 400 ? error.details || {} : {};
  let placed = false;
  for (const [name, messages] of Object.entries(fields)) {
    const slot = scope.querySelector(`[data-error-for="${name}"]`);
    if (!slot) continue;
    slot.textContent = [].concat(messages).join(" ");
    const input = scope.querySelector(`[name="${name}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      slot.id ||= `error-${name}`;
      input.setAttribute("aria-describedby", slot.id);
    }
    placed = true;
  }
  general.hidden = placed && error.status !== 409;
  if (error.status === 409 && error.code === "oversell") {
    general.textContent = `Not recorded: ${error.message} A sell can only sell what the portfolio held at its time; record the buy first, or sell less.`;
  } else if (!placed) {
    general.textContent = error.message;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const general = $("trade-error");
  general.hidden = true;
  const data = Object.fromEntries(new FormData(form));
  const body = { ...data, symbol: data.symbol.trim().toUpperCase(), fee: data.fee || "0" };
  body.executed_at = data.executed_at ? `${data.executed_at.length === 16 ? `${data.executed_at}:00` : data.executed_at}Z` : "";
  try {
    await post(`/api/v1/portfolios/${portfolio.id}/trades/`, body);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showErrors(form, error, general);
    return;
  }
  form.reset();
  setNow();
  await refresh();
});

$("portfolio-create").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(event.target);
  try {
    const created = await post("/api/v1/portfolios/", { name: $("portfolio-name").value });
    await loadPortfolios(created.id);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    event.target.querySelector('[data-error-for="name"]').textContent = error.message;
  }
});

select.addEventListener("change", () => {
  sessionStorage.setItem("mp-portfolio", select.value);
  loadPortfolios(select.value);
});

function setNow() {
  form.elements.executed_at.value = new Date(Date.now() - 60e3).toISOString().slice(0, 19);
}

async function main() {
  setNow();
  const assets = await all("/api/v1/assets/", { tracked: "true", ordering: "rank", limit: 250 });
  $("symbols").replaceChildren(...assets.map((a) => el("option", { value: a.symbol, label: a.name })));
  await loadPortfolios();
}
main().catch((e) => {
  $("trade-error").hidden = false;
  $("trade-error").textContent = `Could not load: ${e.message}`;
});
