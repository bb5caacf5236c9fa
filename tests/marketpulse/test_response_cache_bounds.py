"""The response cache stays bounded: a client cannot add entries with parameters the API
ignores, huge bodies are not kept, and an evicted version never revives a stale entry."""

import httpx
import pytest
from django_redis import get_redis_connection

from marketpulse.api import caching
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/assets/"


def entries() -> int:
    return len(
        list(get_redis_connection("responses").scan_iter(caching._entry_key("*")))
    )


@pytest.mark.slow
def test_unknown_query_parameters_are_refused_by_the_served_app(live_asgi):
    AssetFactory(symbol="BTC")
    with httpx.Client(base_url=live_asgi) as client:
        assert client.get(URL).status_code == 200
        before = entries()
        for n in range(5):
            r = client.get(URL, params={"zz": n, "limit": 10})
            assert r.status_code == 400
            assert r.json()["error"]["details"] == {"zz": ["Unknown query parameter."]}
        assert entries() == before  # no entry per value
        assert client.get(URL, params={"limit": 10}).status_code == 200


def test_a_body_over_the_size_cap_is_served_but_not_kept(api_client, settings):
    for n in range(30):
        AssetFactory(name="x" * 90 + str(n))
    settings.API_CACHE_MAX_BODY_BYTES = 1000
    first, second = api_client.get(URL), api_client.get(URL)
    assert first.status_code == second.status_code == 200
    assert len(first.content) > 1000
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "MISS")
    settings.API_CACHE_MAX_BODY_BYTES = 1_000_000
    assert (api_client.get(URL)["X-Cache"], api_client.get(URL)["X-Cache"]) == (
        "MISS",
        "HIT",
    )


def test_an_evicted_version_never_makes_an_old_entry_current_again(api_client):
    """allkeys-lru may evict a version key; the entries built from it must stay stale."""
    btc = AssetFactory(symbol="BTC", name="Bitcoin")
    assert api_client.get(URL + "BTC/")["X-Cache"] == "MISS"
    assert api_client.get(URL + "BTC/")["X-Cache"] == "HIT"
    redis = get_redis_connection("responses")
    redis.delete(caching._version_key("BTC"))  # evicted
    type(btc).objects.filter(pk=btc.pk).update(name="Bitcoin Core")  # no bump either
    after = api_client.get(URL + "BTC/")
    assert after["X-Cache"] == "MISS"
    assert after.json()["name"] == "Bitcoin Core"
