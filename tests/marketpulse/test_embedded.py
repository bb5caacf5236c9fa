"""The embedded default: with no URLs, real PostgreSQL and Redis start, serve, and stop."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import BASE_DIR

pytestmark = pytest.mark.slow

# The child connects to both servers and prints what it found.
PROBE = """
import os, psycopg, redis
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS probe (n int)")
    conn.execute("INSERT INTO probe VALUES (1)")
    rows = conn.execute("SELECT count(*) FROM probe").fetchone()[0]
    version = conn.execute("SHOW server_version").fetchone()[0]
r = redis.Redis.from_url(os.environ["REDIS_URL"])
print(rows, version.split('.')[0], r.ping(), os.environ["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
"""


def run_embedded(var_dir: Path) -> list[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["MARKETPULSE_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "marketpulse.embedded",
            "--",
            sys.executable,
            "-c",
            PROBE,
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.split()


def test_embedded_servers_start_serve_keep_data_and_stop(tmp_path):
    var_dir = tmp_path / "var"
    rows, major, pong, port = run_embedded(var_dir)
    assert (rows, major, pong) == ("1", "16", "True")
    # Stopped with the command: nothing listens on the Redis port, no postmaster is left.
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", int(port)), 1),
    ):
        pass
    assert not (var_dir / "postgres" / "postmaster.pid").exists()

    # A second run reuses the data directory: the row written before is still there.
    rows, *_ = run_embedded(var_dir)
    assert rows == "2"
    assert (var_dir / "secret_key").read_text()


# Run inside `--publish`: what another local user could read or do.
LOCKED_PROBE = """
import json, os, stat, sys
from pathlib import Path
from urllib.parse import urlparse
import redis

var = Path(os.environ["MARKETPULSE_VAR_DIR"])
modes = {
    name: oct(stat.S_IMODE((var / name).stat().st_mode))
    for name in ("embedded.env", "secret_key", "redis/redis.conf")
}
url = os.environ["REDIS_URL"]
parsed = urlparse(url)
published = (var / "embedded.env").read_text()
anonymous = redis.Redis(host=parsed.hostname, port=parsed.port)
try:
    anonymous.ping()
    without_password = "answered"
except redis.exceptions.AuthenticationError:
    without_password = "refused"
client = redis.Redis.from_url(url)
refused = {}
for command in (["CONFIG", "GET", "dir"], ["DEBUG", "SLEEP", "0"], ["MODULE", "LIST"]):
    try:
        client.execute_command(*command)
        refused[command[0]] = False
    except redis.exceptions.ResponseError as exc:
        refused[command[0]] = "unknown command" in str(exc)
pid = client.info("server")["process_id"]
cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
print(json.dumps({
    "modes": modes,
    "has_password": bool(parsed.password) and len(parsed.password) >= 32,
    "published_url": f"REDIS_URL={url}" in published,
    "without_password": without_password,
    "with_password": client.ping(),
    "refused": refused,
    "password_on_command_line": parsed.password in cmdline,
}))
"""


def test_embedded_secrets_are_private_and_redis_is_locked(tmp_path):
    import json

    var_dir = tmp_path / "var"
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["MARKETPULSE_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [sys.executable, "-m", "marketpulse.embedded", "--publish", "--",
         sys.executable, "-c", LOCKED_PROBE],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = json.loads(result.stdout)
    assert found["modes"] == {
        "embedded.env": "0o600",
        "secret_key": "0o600",
        "redis/redis.conf": "0o600",
    }
    assert found["has_password"]
    assert found["published_url"]
    assert found["without_password"] == "refused"
    assert found["with_password"] is True
    assert found["refused"] == {"CONFIG": True, "DEBUG": True, "MODULE": True}
    assert found["password_on_command_line"] is False


CACHE_PROBE = """
import json, os
import redis
main = redis.Redis.from_url(os.environ["REDIS_URL"]).info("memory")
cache_url = os.environ["CACHE_REDIS_URL"]
cache = redis.Redis.from_url(cache_url).info("memory")
print(json.dumps({
    "separate": cache_url.rsplit("@", 1)[1] != os.environ["REDIS_URL"].rsplit("@", 1)[1],
    "cache": [cache["maxmemory_policy"], cache["maxmemory"]],
    "main": [main["maxmemory_policy"], main["maxmemory"]],
}))
"""


def test_the_embedded_response_cache_has_its_own_evicting_redis(tmp_path):
    """Eviction is server-wide: only a Redis of its own can evict cache entries without
    touching the broker, the rate limits or the latest prices."""
    import json

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL")
    }
    env["MARKETPULSE_VAR_DIR"] = str(tmp_path / "var")
    env["EMBEDDED_CACHE_MAXMEMORY"] = "32mb"
    result = subprocess.run(
        [sys.executable, "-m", "marketpulse.embedded", "--",
         sys.executable, "-c", CACHE_PROBE],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = json.loads(result.stdout)
    assert found["separate"]
    assert found["cache"] == ["allkeys-lru", 32 * 1024 * 1024]
    assert found["main"] == ["noeviction", 0]
