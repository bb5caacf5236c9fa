"""Provider clients against real recorded payloads, served by a real local HTTP server."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from prices.ingest.providers import ProviderDataError, ProviderUnavailable, get_provider
from prices.ingest.providers.http import RateLimit, rate_limit_for, retry_after_seconds
from tests.prices.ingest.provider_server import Answer, payload

MARKETS = "/cg/coins/markets"
CMC = "/cmc/v1/cryptocurrency/listings/latest"
KLINES = "/bn/api/v3/klines"
TICKER = "/bn/api/v3/ticker/24hr"
RECORDED_MARKETS = "coingecko/coins_markets_recorded_2022-03-22.json"


def recorded_markets() -> list[dict]:
    return json.loads(payload(RECORDED_MARKETS))


def test_coingecko_listings_normalise_every_recorded_entry(providers_http, settings):
    settings.COINGECKO_API_KEY = "cg-demo-key"
    providers_http.script(MARKETS, Answer(body=payload(RECORDED_MARKETS)))
    fetched = get_provider("coingecko").listings(limit=15)

    raw = recorded_markets()
    assert [r.symbol for r in fetched.records] == [e["symbol"].upper() for e in raw]
    assert not fetched.rejected
    btc = fetched.records[0]
    assert (btc.symbol, btc.name, btc.price, btc.rank) == ("BTC", "Bitcoin", 42590, 1)
    assert btc.as_of == datetime(2022, 3, 22, 17, 59, 4, 169000, tzinfo=UTC)
    assert btc.market_cap == 808338133022
    assert btc.coingecko_id == "bitcoin"
    weth = next(r for r in fetched.records if r.coingecko_id == "weth")
    # The recording has weth with market_cap 0 and no rank: unknown, not zero.
    assert weth.market_cap is None
    assert weth.rank is None
    seen = providers_http.requests_to(MARKETS)[0]
    assert seen.headers["x-cg-demo-api-key"] == "cg-demo-key"
    assert seen.query["vs_currency"] == ["usd"]
    assert seen.query["per_page"] == ["15"]


def test_coingecko_pro_key_goes_in_the_pro_header(providers_http, settings):
    settings.COINGECKO_API_KEY, settings.COINGECKO_API_PLAN = "cg-pro-key", "pro"
    providers_http.script(MARKETS, Answer(body=payload(RECORDED_MARKETS)))
    get_provider("coingecko").listings(limit=3)
    headers = providers_http.requests_to(MARKETS)[0].headers
    assert headers["x-cg-pro-api-key"] == "cg-pro-key"
    assert "x-cg-demo-api-key" not in headers


def test_coingecko_listings_page_until_the_limit(providers_http):
    page = recorded_markets()
    providers_http.script(
        MARKETS,
        Answer(body=json.dumps(page[:10]).encode()),
        Answer(body=json.dumps(page[10:]).encode()),
    )
    provider = get_provider("coingecko")
    # Smaller pages than the limit: ask with a limit above one page of the fake server.
    import prices.ingest.providers.coingecko as coingecko

    original = coingecko.PAGE_SIZE
    coingecko.PAGE_SIZE = 10
    try:
        fetched = provider.listings(limit=15)
    finally:
        coingecko.PAGE_SIZE = original
    assert len(fetched.records) == 15
    assert [s.query["page"] for s in providers_http.requests_to(MARKETS)] == [
        ["1"],
        ["2"],
    ]


def test_coingecko_ohlc_close_times_become_open_times(providers_http, btc):
    providers_http.script(
        "/cg/coins/bitcoin/ohlc", Answer(body=payload("coingecko/coins_id_ohlc.json"))
    )
    start = datetime(2024, 3, 1, tzinfo=UTC)
    fetched = get_provider("coingecko").candles(
        asset=btc, interval="4h", start=start, end=start + timedelta(days=5)
    )
    raw = json.loads(payload("coingecko/coins_id_ohlc.json"))
    expected = [
        (datetime.fromtimestamp(ts / 1000, UTC) - timedelta(hours=4), o, h, low, c)
        for ts, o, h, low, c in raw
    ]
    got = [(c.open_time, c.open, c.high, c.low, c.close) for c in fetched.records]
    assert got == expected
    assert got[0][0] == datetime(2024, 3, 2, 12, tzinfo=UTC)


def test_coinmarketcap_listings_use_the_key_header_and_quote_timestamps(
    providers_http, settings
):
    settings.COINMARKETCAP_API_KEY = "cmc-key"
    providers_http.script(
        CMC,
        Answer(body=payload("coinmarketcap/v1_cryptocurrency_listings_latest.json")),
    )
    fetched = get_provider("coinmarketcap").listings(limit=10)
    btc, eth = fetched.records
    assert (btc.symbol, btc.price, btc.rank, btc.coinmarketcap_id) == (
        "BTC",
        9283.92,
        5,
        1,
    )
    assert btc.as_of == datetime(2018, 8, 9, 22, 53, 32, tzinfo=UTC)
    assert eth.symbol == "ETH"
    assert eth.rank is None
    assert providers_http.requests_to(CMC)[0].headers["x-cmc_pro_api_key"] == "cmc-key"


def test_coinmarketcap_error_status_is_a_provider_failure(providers_http):
    body = {
        "status": {"error_code": 1002, "error_message": "API key missing."},
        "data": [],
    }
    providers_http.script(CMC, Answer(body=json.dumps(body).encode()))
    with pytest.raises(ProviderUnavailable, match="1002"):
        get_provider("coinmarketcap").listings(limit=10)


def test_binance_klines_parse_string_prices_at_open_times(providers_http, btc):
    providers_http.script(KLINES, Answer(body=payload("binance/api_v3_klines.json")))
    raw = json.loads(payload("binance/api_v3_klines.json"))
    start = datetime.fromtimestamp(raw[0][0] / 1000, UTC)
    fetched = get_provider("binance").candles(
        asset=btc, interval="1m", start=start, end=start + timedelta(minutes=10)
    )
    assert [
        (c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in fetched.records
    ] == [
        (datetime.fromtimestamp(k[0] / 1000, UTC), *(float(v) for v in k[1:6]))
        for k in raw
    ]
    query = providers_http.requests_to(KLINES)[0].query
    assert query["symbol"] == ["BTCUSDT"]
    assert query["interval"] == ["1m"]
    assert query["startTime"] == [str(raw[0][0])]


def test_binance_ticker_gives_last_price_at_close_time(providers_http, btc):
    providers_http.script(
        TICKER, Answer(body=payload("binance/api_v3_ticker_24hr.json"))
    )
    (price,) = get_provider("binance").latest_prices(assets=[btc]).records
    assert (price.symbol, price.price) == ("BTC", 60755.18)
    assert price.as_of == datetime(2021, 10, 22, 23, 13, 21, 452000, tzinfo=UTC)


# --- failures -------------------------------------------------------------------------


def test_a_429_waits_exactly_retry_after_then_succeeds(providers_http):
    providers_http.script(
        MARKETS,
        Answer(429, b'{"status": "throttled"}', {"Retry-After": "2"}),
        Answer(body=payload(RECORDED_MARKETS)),
    )
    provider = get_provider("coingecko")
    slept: list[float] = []
    provider.http.sleep = slept.append  # record the waits instead of spending them
    fetched = provider.listings(limit=15)
    assert len(fetched.records) == 15
    assert len(providers_http.requests_to(MARKETS)) == 2
    assert 2.0 in slept


def test_a_429_asking_for_a_long_wait_fails_over_at_once(providers_http):
    providers_http.script(MARKETS, Answer(429, b"{}", {"Retry-After": "3600"}))
    with pytest.raises(ProviderUnavailable, match="rate limited"):
        get_provider("coingecko").listings(limit=5)
    assert len(providers_http.requests_to(MARKETS)) == 1


def test_a_500_then_success_is_retried(providers_http):
    providers_http.script(
        MARKETS, Answer(500, b"oops"), Answer(body=payload(RECORDED_MARKETS))
    )
    assert len(get_provider("coingecko").listings(limit=15).records) == 15
    assert len(providers_http.requests_to(MARKETS)) == 2


def test_5xx_every_time_gives_up_after_the_configured_attempts(
    providers_http, settings
):
    settings.PROVIDER_MAX_ATTEMPTS = 3
    providers_http.script(MARKETS, Answer(503, b"down"))
    provider = get_provider("coingecko")
    slept: list[float] = []
    provider.http.sleep = slept.append
    with pytest.raises(ProviderUnavailable, match="after 3 attempts"):
        provider.listings(limit=5)
    assert len(providers_http.requests_to(MARKETS)) == 3
    # Exponential backoff with jitter: base 0.01 s doubling, plus up to 0.01 s of jitter.
    waits = [w for w in slept if w >= 0.005]  # not the 1 ms rate-limit spacing
    assert len(waits) == 2
    assert 0.01 <= waits[0] <= 0.02
    assert 0.02 <= waits[1] <= 0.03


def test_a_read_timeout_is_retried(providers_http):
    providers_http.script(
        MARKETS, Answer(body=b"[]", delay=1.5), Answer(body=payload(RECORDED_MARKETS))
    )
    assert len(get_provider("coingecko").listings(limit=15).records) == 15
    assert len(providers_http.requests_to(MARKETS)) == 2


def test_malformed_json_is_a_data_error(providers_http):
    providers_http.script(MARKETS, Answer(body=payload(RECORDED_MARKETS)[:-40]))
    with pytest.raises(ProviderDataError, match="malformed JSON"):
        get_provider("coingecko").listings(limit=15)


def test_a_wrong_shape_is_a_data_error(providers_http):
    providers_http.script(MARKETS, Answer(body=b'{"error": "maintenance"}'))
    with pytest.raises(ProviderDataError):
        get_provider("coingecko").listings(limit=15)


def test_entries_with_missing_fields_or_values_out_of_range_are_rejected(
    providers_http,
):
    entries = recorded_markets()
    del entries[0]["current_price"]  # missing
    entries[1]["current_price"] = -0.5  # out of range
    entries[2]["last_updated"] = "2999-01-01T00:00:00.000Z"  # from the future
    entries[3]["current_price"] = "abc"  # not a number
    providers_http.script(MARKETS, Answer(body=json.dumps(entries).encode()))
    fetched = get_provider("coingecko").listings(limit=15)
    assert [r.symbol for r in fetched.records] == [
        e["symbol"].upper() for e in entries[4:]
    ]
    assert fetched.rejected == {
        "missing_field": 1, "non_positive_price": 1, "as_of_in_future": 1, "bad_value": 1,
    }  # fmt: skip


def test_binance_klines_with_bad_rows_reject_only_those(providers_http, btc):
    raw = json.loads(payload("binance/api_v3_klines.json"))
    raw[0] = raw[0][:3]  # truncated
    raw[1][1] = None
    providers_http.script(KLINES, Answer(body=json.dumps(raw).encode()))
    start = datetime.fromtimestamp(raw[2][0] / 1000, UTC) - timedelta(minutes=2)
    fetched = get_provider("binance").candles(
        asset=btc, interval="1m", start=start, end=start + timedelta(minutes=10)
    )
    assert len(fetched.records) == 8
    assert sum(fetched.rejected.values()) == 2


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = (datetime.now(UTC) + timedelta(seconds=30)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )
    assert 25 <= (retry_after_seconds(later) or 0) <= 31


def test_the_rate_limit_spaces_calls_evenly():
    limit = RateLimit(per_minute=600)  # one call every 0.1 s
    waits: list[float] = []
    for _ in range(4):
        limit.wait(waits.append)
    # The first call goes at once; the next ones queue 0.1 s apart.
    assert len(waits) == 3
    for expected, got in zip([0.1, 0.2, 0.3], waits, strict=True):
        assert expected - 0.02 <= got <= expected


def test_clients_of_one_provider_share_its_rate_limit(settings):
    first = get_provider("binance").http.rate_limit
    assert get_provider("binance").http.rate_limit is first
    assert rate_limit_for("coingecko", 30) is not first
