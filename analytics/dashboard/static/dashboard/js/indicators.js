// Indicator overlays and panes on the asset chart, from the indicators catalogue: an
// indicator on the price's scale (TA-Lib's "Output scale same as input") overlays the
// candles, any other gets a pane of its own below.
import { HistogramSeries, LineSeries } from "lightweight-charts";
import { get } from "@mp/api.js";
import { COLORS, seconds } from "@mp/chart.js";

export async function catalogue() {
  const body = await get("/api/v1/analytics/indicators/");
  return { items: body.results, limits: body.limits };
}

export function onPriceScale(entry) {
  return entry.flags.includes("Output scale same as input") || entry.name === "vwap";
}

export class Indicators {
  constructor(chart, symbol) {
    this.chart = chart;
    this.symbol = symbol;
    this.active = []; // {entry, period, key, series: [], pane}
  }

  // The period parameter people tune; the others keep the catalogue's defaults.
  static periodParam(entry) {
    return entry.parameters.find((p) => p.name === "timeperiod") ?? null;
  }

  has(name, period) {
    return this.active.some((a) => a.entry.name === name && a.period === period);
  }

  // The API's instance key: the name, or `name:p<period>` (a labelled second instance)
  // when the name is already on the chart with another period: SMA 20 beside SMA 50.
  add(entry, period) {
    const pane = onPriceScale(entry) ? 0 : this.nextPane();
    const taken = this.active.some((a) => a.key === entry.name);
    const key = taken ? `${entry.name}:p${period ?? this.active.length}` : entry.name;
    this.active.push({ entry, period, key, series: [], pane });
    return key;
  }

  remove(key) {
    const item = this.active.find((a) => a.key === key);
    if (!item) return;
    for (const s of item.series) this.chart.removeSeries(s);
    this.active = this.active.filter((a) => a !== item);
    // Panes below the price pane are removed with their last series; renumber the rest.
    const panes = [...new Set(this.active.filter((a) => a.pane > 0).map((a) => a.pane))].sort();
    for (const a of this.active) if (a.pane > 0) a.pane = panes.indexOf(a.pane) + 1;
  }

  nextPane() {
    return Math.max(0, ...this.active.map((a) => a.pane)) + 1;
  }

  seriesCount() {
    return this.active.reduce((n, a) => n + a.series.length, 0);
  }

  // Values for the candles shown ([start, end)), one request for every active indicator.
  async load({ interval, start, end }) {
    if (!this.active.length) return;
    const params = { interval, start, end, indicators: this.active.map((a) => a.key).join(",") };
    for (const a of this.active) {
      const p = Indicators.periodParam(a.entry);
      if (p && a.period) params[`${a.key}.${p.name}`] = a.period;
    }
    const body = await get(`/api/v1/analytics/indicators/${this.symbol}/`, params);
    let color = 0;
    for (const a of this.active) {
      for (const s of a.series) this.chart.removeSeries(s);
      a.series = [];
      const label = a.key.includes(":") ? a.key.slice(a.key.indexOf(":")) : "";
      for (const name of a.entry.outputs) {
        const output = name + label; // the response names a labelled instance's outputs so
        const histogram = output.endsWith("_hist");
        const series = this.chart.addSeries(histogram ? HistogramSeries : LineSeries, {
          color: histogram ? `${COLORS[color % COLORS.length]}88` : COLORS[color % COLORS.length],
          lineWidth: 1.5,
          title: a.pane === 0 ? `${a.entry.name.toUpperCase()}${a.period ? ` ${a.period}` : ""}` : output,
          priceLineVisible: false,
          lastValueVisible: a.pane > 0,
        }, a.pane);
        color += 1;
        series.setData(body.results.filter((r) => r[output] !== null && r[output] !== undefined)
          .map((r) => ({ time: seconds(r.open_time), value: r[output] })));
        a.series.push(series);
      }
    }
    return body;
  }
}
