import importlib
import json
import os
import sys
import time
from pathlib import Path

from marketpulse.embedded import VAR_DIR

# Section modules, in the order they run. A section returns {"name": {"metric": value}}.
SECTIONS = [
    "api",
    "imports",
    "fanout",
    "portfolio",
    "indicators",
    "alerts",
    "pages",
    "forecasts",
]


def print_table(results: dict[str, dict[str, float]]) -> None:
    """One table per group of rows that report the same figures."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, figures in results.items():
        groups.setdefault(tuple(figures), []).append(name)
    for columns, names in groups.items():
        width = max(len(name) for name in names) + 2
        cell = max(12, *(len(c) + 2 for c in columns))
        print()
        print("".ljust(width) + "".join(c.rjust(cell) for c in columns))
        for name in names:
            figures = results[name]
            print(
                name.ljust(width)
                + "".join(f"{figures[c]:.2f}".rjust(cell) for c in columns)
            )


def use_bench_databases() -> dict[str, str]:
    """Points this process, and every server and client it starts, at the bench's own
    PostgreSQL database and Redis database, before any section sets Django up: no
    section creates its assets, users or prices in the service's data."""
    from bench.api import bench_env, ensure_database

    env = bench_env()
    ensure_database(env["DATABASE_URL"])
    chosen = {
        "DATABASE_URL": env["DATABASE_URL"],
        "REDIS_URL": env["REDIS_URL"],
        "CACHE_REDIS_URL": env["REDIS_URL"],
    }
    os.environ.update(chosen)
    return chosen


def main(argv: list[str]) -> int:
    use_bench_databases()
    wanted = argv or SECTIONS
    out = VAR_DIR / "bench" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results: dict = json.loads(out.read_text()) if out.exists() else {}
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        started = time.monotonic()
        print(f"== bench {name} ==", flush=True)
        section = module.main()
        print(f"   ({time.monotonic() - started:.0f}s)")
        results.update(section)
        out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print_table({k: v for k, v in results.items() if isinstance(v, dict)})
    print(
        f"written to {Path(out).relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
