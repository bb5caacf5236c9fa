import pytest

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("tests.marketpulse.urls_for_errors"),
]


def assert_envelope(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_unknown_route_is_a_404_in_the_envelope(client):
    error = assert_envelope(client.get("/no/such/page/"), 404, "not_found")
    assert "/no/such/page/" in error["message"]


def test_validation_error_names_the_field(client):
    response = client.post("/t/validate/", {"x": -1}, content_type="application/json")
    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["x"]


def test_malformed_json_is_a_parse_error(client):
    response = client.post("/t/validate/", "{nope", content_type="application/json")
    assert_envelope(response, 400, "parse_error")


def test_service_errors_keep_their_code_status_and_details(client):
    error = assert_envelope(client.get("/t/conflict/"), 409, "oversell")
    assert error["details"] == {"held": "1"}


def test_wrong_method_is_405_in_the_envelope(client):
    assert_envelope(client.delete("/t/conflict/"), 405, "method_not_allowed")


@pytest.mark.parametrize("url", ["/t/drf-crash/", "/t/django-crash/"])
def test_a_crash_is_a_clean_500_without_internals(url):
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = client.get(url)
    error = assert_envelope(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["details"] == {}


def test_a_database_outage_outside_drf_is_a_503_without_internals():
    """Django's own handler (the admin, pages): the same 503 as the API's."""
    from django.test import Client

    response = Client(raise_request_exception=False).get("/t/django-database-down/")
    assert_envelope(response, 503, "database_unavailable")
    assert int(response["Retry-After"]) > 0
    assert "10.0.0.5" not in response.content.decode()


def test_throttled_is_429_with_retry_after(client):
    assert client.get("/t/throttled/").status_code == 200
    response = client.get("/t/throttled/")
    error = assert_envelope(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert error["details"]["retry_after"] == int(response["Retry-After"])


def test_every_response_has_a_request_id_and_timing(client):
    first = client.get("/health/live/")
    second = client.get("/health/live/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert first["Server-Timing"].startswith("app;dur=")


def test_a_sane_client_request_id_is_kept_and_a_hostile_one_replaced(client):
    assert client.get("/health/live/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == (
        "abc-123"
    )
    hostile = "x" * 65 + "\r\n"
    assert (
        client.get("/health/live/", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"]
        != hostile
    )
