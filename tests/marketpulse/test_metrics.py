"""`/metrics` access rules and exposition, through the URL (single-process mode)."""

import pytest
from django.test import Client

from marketpulse.metrics import exposition


def test_loopback_may_scrape_by_default(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"marketpulse_celery_queue_length" in response.content


def test_an_address_outside_the_allow_list_is_refused():
    response = Client(REMOTE_ADDR="203.0.113.7").get("/metrics")
    assert response.status_code == 403
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_token_lets_any_address_in_and_a_wrong_one_does_not(settings):
    settings.METRICS_TOKEN = "s3cret-token"
    outsider = Client(REMOTE_ADDR="203.0.113.7")
    good = outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert good.status_code == 200
    bad = outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-tokeN")
    assert bad.status_code == 403


def test_with_metrics_off_there_is_no_endpoint(client, settings):
    settings.METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_requests_are_counted_by_view(client):
    client.get("/health/live/")
    text = exposition().decode()
    assert "django_http_requests_total_by_view_transport_method_total{" in text
    assert 'view="health-live"' in text
