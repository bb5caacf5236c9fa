"""The few built library files the pages load, found in node_modules/ (installed from
package-lock.json by `npm ci`): collected and served like our own static files, so no
CDN and no copy of a library lives in the repository."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core import checks
from django.core.files.storage import FileSystemStorage

# Public name under static/vendor/ -> file under node_modules/.
VENDOR_FILES = {
    "lightweight-charts.mjs": (
        "lightweight-charts/dist/lightweight-charts.standalone.production.mjs"
    ),
}
PREFIX = "vendor"


def node_modules() -> Path:
    return Path(settings.BASE_DIR) / "node_modules"


class NodeModulesFinder(BaseFinder):
    """Finds `vendor/<name>` for each entry of VENDOR_FILES, and nothing else."""

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        missing = [
            f for f in VENDOR_FILES.values() if not (node_modules() / f).is_file()
        ]
        if not missing:
            return []
        return [
            checks.Warning(
                f"{', '.join(missing)} missing from node_modules/: the browser pages "
                "cannot load. Run `npm ci` (make run and make test do).",
                id="dashboard.W001",
            )
        ]

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        folder, _, name = path.rpartition("/")
        source = VENDOR_FILES.get(name) if folder == PREFIX else None
        if source is None or not (node_modules() / source).is_file():
            return []  # as Django's finders: nothing found is an empty list
        found = str(node_modules() / source)
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for name, source in VENDOR_FILES.items():
            file = node_modules() / source
            if file.is_file():
                # A storage per file, so the file is collected under its public name.
                storage = _SingleFileStorage(file, name)
                storage.prefix = PREFIX  # type: ignore[attr-defined]
                yield name, storage


class _SingleFileStorage(FileSystemStorage):
    """A storage holding one file under another name."""

    def __init__(self, file: Path, name: str) -> None:
        super().__init__(location=str(file.parent))
        self.file, self.public = file, name

    def path(self, name: str) -> str:
        return str(self.file) if name == self.public else super().path(name)
