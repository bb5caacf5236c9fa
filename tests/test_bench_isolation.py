"""`make bench` never touches the service's own data: every section runs against the
bench's database and Redis database (issue: BENCHA/BENCHB showed up in listings)."""

import os
from urllib.parse import urlsplit

from bench.__main__ import use_bench_databases


def test_every_bench_section_gets_the_bench_database_not_the_services(monkeypatch, db):
    from django.db import connection

    service = urlsplit(os.environ["DATABASE_URL"])
    monkeypatch.setenv("DATABASE_URL", os.environ["DATABASE_URL"])  # restored after
    monkeypatch.setenv("REDIS_URL", os.environ["REDIS_URL"])
    monkeypatch.delenv("BENCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("BENCH_REDIS_URL", raising=False)
    monkeypatch.delenv("CACHE_REDIS_URL", raising=False)  # removed again after
    chosen = use_bench_databases()
    assert os.environ["DATABASE_URL"] == chosen["DATABASE_URL"]
    bench = urlsplit(chosen["DATABASE_URL"])
    assert bench.path == "/marketpulse_bench" != service.path
    assert (bench.hostname, bench.port) == (service.hostname, service.port)
    assert urlsplit(chosen["REDIS_URL"]).path == "/15"
    assert os.environ["CACHE_REDIS_URL"] == chosen["REDIS_URL"]
    assert connection.settings_dict["NAME"] != "marketpulse_bench"
