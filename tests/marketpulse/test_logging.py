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
