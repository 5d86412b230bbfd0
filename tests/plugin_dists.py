"""Plugin distributions written by the tests, laid out as pip leaves an installed one: the
package's modules and a ``NAME-VERSION.dist-info`` folder (METADATA, entry_points.txt) side by
side in one folder. With that folder on sys.path (or PYTHONPATH) importlib.metadata finds the
distribution and its ``storyviz.backends`` entry points like any other."""

from __future__ import annotations

import re
from pathlib import Path

FAKECOLOR_DECLARATION = '''
"""A storyviz plugin: the declaration, light to import (storyviz backends imports it)."""
from storyviz.registry import BackendEntry

FAKECOLOR = BackendEntry(
    "storyviz_fake_plugin.render:FakeColor",
    "every panel one solid colour (a test plugin); ?color=RRGGBB",
    model="none",
)
NEEDS_GPU = BackendEntry(
    "storyviz_fake_plugin.gpu:Gpu", "needs a package that is not installed", extra="gpu"
)
NOT_AN_ENTRY = "a string, not a BackendEntry"
'''

FAKECOLOR_RENDERER = '''
"""The plugin's generator: the Generator protocol of storyviz/protocols.py."""
from PIL import Image

from storyviz.errors import BackendError
from storyviz.protocols import RenderResult
from storyviz.registry import BackendSpec
from storyviz.schemas import RenderRequest


class FakeColor:
    def __init__(self, spec: BackendSpec) -> None:
        spec.check_options({"color"})
        self.spec = spec.redacted()
        text = spec.options.get("color", "ff8800")
        if not (len(text) == 6 and all(c in "0123456789abcdefABCDEF" for c in text)):
            raise BackendError(f"backend {spec.name!r}: color must be RRGGBB, got {text!r}")
        self.rgb = (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))

    def render(self, request: RenderRequest) -> RenderResult:
        image = Image.new("RGB", (request.width, request.height), self.rgb)
        return RenderResult(image, info={"renderer": "fakecolor", "backend": self.spec})
'''

FAKE_PLUGIN = {
    "storyviz_fake_plugin/__init__.py": FAKECOLOR_DECLARATION,
    "storyviz_fake_plugin/render.py": FAKECOLOR_RENDERER,
    "storyviz_fake_plugin/gpu.py": "import storyviz_fake_plugin_cuda  # not installed\n",
}
FAKE_POINTS = {"generator.fakecolor": "storyviz_fake_plugin:FAKECOLOR"}


def write_dist(
    site: Path,
    name: str,
    version: str,
    entry_points: dict[str, str],
    modules: dict[str, str] | None = None,
) -> None:
    """Lay out distribution `name` in `site`: its modules (path -> source) and its dist-info."""
    for path, source in (modules or {}).items():
        target = site / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.lstrip("\n"))
    info = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    points = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[storyviz.backends]\n{points}")
