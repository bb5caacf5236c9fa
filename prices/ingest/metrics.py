"""The sync pipeline's metrics: runs, rows written and rejected, provider requests.

Recorded in whichever process runs the code (a Celery worker, mostly); in multiprocess
mode (`marketpulse.metrics`) every web scrape includes them.
"""

from prometheus_client import Counter, Histogram

sync_runs = Counter(
    "marketpulse_sync_runs_total",
    "Sync runs finished, by job, the provider that served them and final status.",
    ["job", "provider", "status"],
)
candles_written = Counter(
    "marketpulse_candles_written_total",
    "Rows a sync run inserted or updated (candles; latest prices for the prices job).",
    ["job"],
)
candles_rejected = Counter(
    "marketpulse_candles_rejected_total",
    "Rows a sync run rejected (OHLC invariants, unknown symbols, ...), by reason.",
    ["job", "reason"],
)
provider_request_seconds = Histogram(
    "marketpulse_provider_request_seconds",
    "Latency of one HTTP request to a provider (each attempt), by provider.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
provider_responses = Counter(
    "marketpulse_provider_responses_total",
    "Provider HTTP attempts by provider and status code ('timeout', 'connection' when "
    "no response came).",
    ["provider", "status"],
)
provider_retries = Counter(
    "marketpulse_provider_retries_total",
    "Provider requests retried (timeouts, connection errors, 5xx, 429), by provider.",
    ["provider"],
)
provider_errors = Counter(
    "marketpulse_provider_errors_total",
    "Provider requests that failed for good (after retries, 4xx, malformed JSON), by "
    "provider and status code.",
    ["provider", "status"],
)
