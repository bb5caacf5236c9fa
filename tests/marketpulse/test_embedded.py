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
