// lightweight-charts with the page's theme: one place for colours and candle conversion.
import { createChart } from "lightweight-charts";
import { currentTheme, onThemeChange } from "@mp/common.js";

export const COLORS = ["#2962ff", "#e08a00", "#9c27b0", "#00897b", "#d81b60", "#6d4c41"];

function themeOptions(theme) {
  const dark = theme === "dark";
  const text = dark ? "#c9d1d9" : "#1b1f24";
  const grid = dark ? "#21262d" : "#eef1f4";
  return {
    layout: { background: { color: "transparent" }, textColor: text, panes: { separatorColor: grid } },
    grid: { vertLines: { color: grid }, horzLines: { color: grid } },
    rightPriceScale: { borderColor: grid },
    timeScale: { borderColor: grid },
  };
}

export function upDown(theme = currentTheme()) {
  return theme === "dark" ? { up: "#3fb950", down: "#ff7b72" } : { up: "#0a7a3e", down: "#c0262d" };
}

export function makeChart(container, options = {}) {
  const chart = createChart(container, {
    autoSize: true,
    timeScale: { timeVisible: true, secondsVisible: false },
    localization: { timeFormatter: (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") },
    ...options,
    ...themeOptions(currentTheme()),
  });
  onThemeChange((theme) => chart.applyOptions(themeOptions(theme)));
  return chart;
}

export const seconds = (iso) => Math.floor(new Date(iso).getTime() / 1000);

export function bar(candle) {
  return { time: seconds(candle.open_time), open: candle.open, high: candle.high, low: candle.low, close: candle.close };
}

export function volumeBar(candle, theme = currentTheme()) {
  const { up, down } = upDown(theme);
  return {
    time: seconds(candle.open_time),
    value: candle.volume ?? 0,
    color: `${candle.close >= candle.open ? up : down}66`,
  };
}

// Set once the chart has painted its data (two frames after setData), with a performance
// mark the first time: `make bench` reads it as navigation-to-first-chart.
export function markDrawn(container) {
  requestAnimationFrame(() => requestAnimationFrame(() => {
    if (!performance.getEntriesByName("chart-drawn").length) performance.mark("chart-drawn");
    container.dataset.state = "drawn";
    container.dispatchEvent(new Event("chart-drawn"));
  }));
}
