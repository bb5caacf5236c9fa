// Numbers as people read them: prices with their quote currency, compact big figures,
// signed percentages. Tabular figures and right alignment are the stylesheet's job.

const cache = new Map();
function formatter(key, options) {
  if (!cache.has(key)) cache.set(key, new Intl.NumberFormat("en-US", options));
  return cache.get(key);
}

function digitsFor(value) {
  const abs = Math.abs(value);
  if (abs >= 1000) return 2;
  if (abs >= 1) return 4;
  if (abs === 0) return 2;
  return Math.min(8, 2 - Math.floor(Math.log10(abs)) + 2);
}

export function price(value, quote = "USD") {
  if (value === null || value === undefined || value === "") return "–";
  const n = Number(value);
  const digits = digitsFor(n);
  return `${formatter(`p${digits}`, { minimumFractionDigits: Math.min(2, digits), maximumFractionDigits: digits }).format(n)} ${quote}`;
}

export function money(value, quote = "USD") {
  if (value === null || value === undefined || value === "") return "–";
  return `${formatter("m", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(value))} ${quote}`;
}

export function compact(value, quote) {
  if (value === null || value === undefined) return "–";
  const text = formatter("c", { notation: "compact", maximumFractionDigits: 2 }).format(Number(value));
  return quote ? `${text} ${quote}` : text;
}

export function pct(value, { signed = true } = {}) {
  if (value === null || value === undefined || value === "") return "–";
  const n = Number(value);
  const text = formatter("pct", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n);
  return `${signed && n > 0 ? "+" : ""}${text}%`;
}

export function quantity(value) {
  if (value === null || value === undefined) return "–";
  return formatter("q", { maximumFractionDigits: 8 }).format(Number(value));
}

export function trend(value) {
  const n = Number(value);
  return !value || Number.isNaN(n) || n === 0 ? "" : n > 0 ? "up" : "down";
}

export function time(iso) {
  if (!iso) return "–";
  return new Date(iso).toISOString().replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
}

export function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

// Text node helpers: never innerHTML with data from the API.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
