"""The layout's contracts (pyproject.toml, [tool.importlinter]; ARCHITECTURE.md): the
store's module list is whole, and a wrong import does fail `lint-imports`."""

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.servers import BASE_DIR, BIN

PACKAGES = ("marketpulse", "assets", "prices", "portfolio", "analytics")
CONFIG = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"][
    "importlinter"
]


def contract(name_start: str) -> dict:
    (found,) = [c for c in CONFIG["contracts"] if c["name"].startswith(name_start)]
    return found


def test_the_store_contract_lists_every_module_at_the_root_of_prices():
    root = BASE_DIR / "prices"
    modules = {
        f"prices.{p.stem}" for p in root.glob("*.py") if p.stem != "__init__"
    } | {
        f"prices.{p.name}"
        for p in root.iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    wings = {"prices.ingest", "prices.realtime"}
    listed = set(contract("The price store")["source_modules"])
    assert listed == modules - wings


def lint_imports_with(tmp_path: Path, module: str, line: str) -> str:
    """Runs the contracts on a copy of the code with `line` appended to `module`."""
    for package in PACKAGES:
        shutil.copytree(
            BASE_DIR / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path)
    target = tmp_path / (module.replace(".", "/") + ".py")
    target.write_text(target.read_text() + f"\n{line}\n")
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(BIN)},
    )
    assert result.returncode != 0, result.stdout
    return result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("assets.models", "import prices.latest", "assets imports nothing"),
        (
            "prices.ingest.providers.binance",
            "from prices.services import upsert_candles",
            "Providers depend on plain records",
        ),
        ("prices.services", "import prices.realtime.broadcast", "The price store"),
        ("prices.views", "from prices.ingest import sync", "The price store"),
        (
            "portfolio.selectors",
            "from prices.models import Candle",
            "portfolio and analytics",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path, module, line, broken):
    report = lint_imports_with(tmp_path, module, line)
    assert f"{broken}" in report.split("Broken contracts")[1]
