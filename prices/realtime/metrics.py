"""Realtime metrics: sockets by stream, fan-out hand-off latency, slow clients, replays.

The hub observes one histogram sample per message per process (one batch of sockets), not
one per socket: the fan-out stays at its measured per-message cost.
"""

from prometheus_client import Counter, Gauge, Histogram

websocket_connections = Gauge(
    "marketpulse_websocket_connections",
    "Open WebSocket connections admitted, by stream (prices, alerts, replay).",
    ["stream"],
    multiprocess_mode="livesum",
)
fanout_seconds = Histogram(
    "marketpulse_fanout_delivery_seconds",
    "Time the process's hub takes to hand one live message to all its local subscribers.",
    buckets=(
        0.0001,
        0.00025,
        0.0005,
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.5,
    ),
)
fanout_subscribers = Counter(
    "marketpulse_fanout_deliveries_total",
    "Live messages handed to local WebSocket subscribers (one per socket).",
)
slow_clients = Counter(
    "marketpulse_websocket_slow_clients_total",
    "WebSocket clients cut off because their send queue overflowed, by stream.",
    ["stream"],
)
replays_running = Gauge(
    "marketpulse_replays_running",
    "Replays streaming now.",
    multiprocess_mode="livesum",
)
