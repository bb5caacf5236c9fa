"""How the pages get their modules (no browser): the finder, the import map, the views."""

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core import checks
from django.test import Client

from analytics.dashboard import finders as dashboard_finders
from analytics.dashboard.templatetags.dashboard import JS_DIR, import_map


def test_the_chart_library_is_found_in_node_modules_under_vendor():
    found = finders.find("vendor/lightweight-charts.mjs")
    assert found is not None
    assert Path(found).is_relative_to(Path(dashboard_finders.node_modules()))
    assert "TradingView Lightweight Charts" in Path(found).read_text()[:300]
    assert not finders.find("vendor/typings.d.ts")  # only the files listed


def test_without_node_modules_the_check_says_to_run_npm_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(dashboard_finders, "node_modules", lambda: tmp_path)
    finder = dashboard_finders.NodeModulesFinder()
    [warning] = finder.check()
    assert warning.level == checks.WARNING
    assert "npm ci" in warning.msg
    assert finder.find("vendor/lightweight-charts.mjs") == []


def test_the_import_map_names_every_module_by_its_hashed_url():
    imports = json.loads(import_map())["imports"]
    modules = sorted(p.name for p in JS_DIR.glob("*.js"))
    assert (
        sorted(k.removeprefix("@mp/") for k in imports if k.startswith("@mp/"))
        == modules
    )
    for url in imports.values():
        assert re.search(r"\.[0-9a-f]{12}\.m?js$", url), url
    # Modules import each other by these names only: a relative import would load a
    # second copy under the unhashed name.
    for path in JS_DIR.glob("*.js"):
        for spec in re.findall(r'from "([^"]+)"', path.read_text()):
            assert spec in imports, f"{path.name} imports {spec}"


@pytest.mark.parametrize("path", ["/portfolio/", "/alerts/"])
def test_signed_in_pages_send_anonymous_visitors_to_sign_in(path, db):
    response = Client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/signin/?next={path}"


CHECK_WITHOUT_MANIFEST = """
import sys
import django
from django.conf import settings
django.setup()
settings.STATIC_ROOT = sys.argv[1]  # empty: collectstatic has not run
from django.core.management import call_command
call_command("check")
from django.test import Client
print(Client().get("/favicon.ico").status_code)
"""


def test_the_urls_load_before_collectstatic_has_run(tmp_path):
    # `make bench` and a fresh `migrate` import the URLs before any manifest exists.
    import os
    import subprocess
    import sys

    from django.conf import settings

    done = subprocess.run(
        [sys.executable, "-c", CHECK_WITHOUT_MANIFEST, str(tmp_path)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "marketpulse.settings"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Missing staticfiles manifest" not in done.stderr
