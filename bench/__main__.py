import importlib
import json
import sys
import time
from pathlib import Path

from marketpulse.embedded import VAR_DIR

# Section modules, in the order they run. A section returns {"name": {"metric": value}}.
SECTIONS = ["api", "imports", "fanout", "portfolio"]


def print_table(results: dict[str, dict[str, float]]) -> None:
    columns = sorted({metric for figures in results.values() for metric in figures})
    width = max(len(name) for name in results) + 2
    print("".ljust(width) + "".join(c.rjust(14) for c in columns))
    for name, figures in results.items():
        cells = "".join(
            (f"{figures[c]:.2f}" if c in figures else "-").rjust(14) for c in columns
        )
        print(name.ljust(width) + cells)


def main(argv: list[str]) -> int:
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
