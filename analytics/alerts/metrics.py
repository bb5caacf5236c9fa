"""Alert metrics, recorded in whichever process evaluates or delivers (sync workers, web
processes for manual prices, delivery workers); every scrape includes them (multiprocess)."""

from prometheus_client import Counter, Histogram

alerts_fired = Counter(
    "marketpulse_alerts_fired_total", "Alert firings stored, by kind.", ["kind"]
)
alert_evaluation_seconds = Histogram(
    "marketpulse_alert_evaluation_seconds",
    "Time to check one batch of readings (prices, candle values) against the alerts.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
webhook_attempts = Counter(
    "marketpulse_webhook_attempts_total",
    "Webhook POST attempts by outcome (delivered, failed: an error or non-2xx).",
    ["outcome"],
)
webhooks_disabled = Counter(
    "marketpulse_webhooks_disabled_total",
    "Webhook endpoints disabled after failing ALERT_WEBHOOK_DISABLE_AFTER times in a row.",
)
