// WebSockets that survive a server restart: on a drop the page says so (the status pill
// in the header), reconnects with exponential backoff and jitter, and `onOpen` runs again
// on every connection so the page resubscribes. No reload needed.

const sockets = new Set();
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

function render() {
  const pill = document.getElementById("conn");
  if (!pill) return;
  pill.hidden = sockets.size === 0;
  if (sockets.size === 0) return;
  const states = [...sockets].map((s) => s.state);
  const worst = ["down", "reconnecting", "degraded", "connecting", "live"].find((s) => states.includes(s));
  const text = {
    live: "● Live",
    connecting: "Connecting…",
    degraded: "Live feed degraded",
    reconnecting: "Disconnected, reconnecting…",
    down: "Disconnected",
  }[worst];
  pill.dataset.state = worst;
  pill.textContent = text;
}

export class LiveSocket {
  // `path` may be a function: a replay reconnects from where it got to.
  constructor(path, { onOpen = () => {}, onMessage = () => {}, onClose = () => {} } = {}) {
    this.path = path;
    this.onOpen = onOpen;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.attempt = 0;
    this.state = "connecting";
    this.stopped = false;
    this.timer = null;
    sockets.add(this);
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${typeof this.path === "function" ? this.path() : this.path}`);
    this.ws = ws;
    this.setState(this.attempt ? "reconnecting" : "connecting");
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.setState("live");
      this.onOpen(this);
    });
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "status" && (message.status === "degraded" || message.status === "live")) {
        this.setState(message.status);
      }
      this.onMessage(message, this);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.onClose(event, this);
      if (this.stopped) return;
      this.setState("down");
      const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt += 1;
      const delay = base * (0.75 + Math.random() * 0.5);
      this.timer = setTimeout(() => {
        this.setState("reconnecting");
        this.connect();
      }, delay);
    });
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
    sockets.delete(this);
    render();
  }

  setState(state) {
    this.state = state;
    render();
  }
}

// `/ws/prices/` allows WS_MAX_SUBSCRIPTIONS (100) subscriptions per connection: more
// symbols than that get more connections.
export const SUBSCRIPTIONS_PER_SOCKET = 100;

export function priceSockets(symbols, streams, onMessage) {
  const chunks = [];
  for (let i = 0; i < symbols.length; i += SUBSCRIPTIONS_PER_SOCKET / streams.length) {
    chunks.push(symbols.slice(i, i + SUBSCRIPTIONS_PER_SOCKET / streams.length));
  }
  return chunks.map((chunk) =>
    new LiveSocket("/ws/prices/", {
      onOpen: (socket) => socket.send({ action: "subscribe", symbols: chunk, streams }),
      onMessage,
    }).start(),
  );
}
