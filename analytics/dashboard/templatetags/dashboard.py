"""`{% importmap %}`: the pages' modules import each other by bare names (`@mp/api.js`,
`lightweight-charts`), mapped here to their hashed static URLs. Relative imports would
resolve to the unhashed copies, and a module loaded under two URLs runs twice."""

import json
from functools import cache
from pathlib import Path

from django import template
from django.templatetags.static import static
from django.utils.safestring import SafeString, mark_safe

from analytics.dashboard.finders import PREFIX, VENDOR_FILES

register = template.Library()
JS_DIR = Path(__file__).resolve().parent.parent / "static" / "dashboard" / "js"


@cache
def import_map() -> str:
    imports = {
        name.removesuffix(".mjs"): static(f"{PREFIX}/{name}") for name in VENDOR_FILES
    }
    for module in sorted(JS_DIR.glob("*.js")):
        imports[f"@mp/{module.name}"] = static(f"dashboard/js/{module.name}")
    # `</` cannot occur in a static URL; escape anyway, as json_script does.
    return json.dumps({"imports": imports}).replace("<", "\\u003c")


@register.simple_tag
def importmap() -> SafeString:
    return mark_safe(f'<script type="importmap">{import_map()}</script>')
