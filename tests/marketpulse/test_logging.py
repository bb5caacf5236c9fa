import io
import json
import logging

import pytest


@pytest.mark.django_db
def test_access_log_is_json_and_carries_the_request_id(client):
    handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        response = client.get("/health/live/", HTTP_X_REQUEST_ID="trace-me-42")
    finally:
        handler.setStream(previous)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    access = [line for line in lines if line.get("logger") == "marketpulse.access"]
    assert access, lines
    assert access[-1]["request_id"] == "trace-me-42" == response["X-Request-ID"]
    assert access[-1]["status"] == 200
    assert access[-1]["path"] == "/health/live/"
    assert access[-1]["level"] == "INFO"


def test_the_orjson_lines_keep_every_field_python_json_logger_wrote():
    """The formatter it replaced (kept as a test dependency) on the same records."""
    from pythonjsonlogger.json import JsonFormatter

    from marketpulse.api.middleware import RequestIdLogFilter
    from marketpulse.logs import JsonLines

    before = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    records = [
        logging.LogRecord("marketpulse.access", logging.INFO, __file__, 1, "request",
                          (), None),
        logging.LogRecord("prices", logging.WARNING, __file__, 2, "price %s of %s",
                          (1.5, "BTC"), exc_info),
    ]  # fmt: skip
    records[0].__dict__.update(method="GET", path="/x/", status=200, duration_ms=1.25)
    for record in records:
        RequestIdLogFilter().filter(record)
        old, new = (
            json.loads(before.format(record)),
            json.loads(JsonLines().format(record)),
        )
        assert new == old
