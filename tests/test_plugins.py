"""Backends from other distributions: the ``storyviz.backends`` entry points (docs/plugins.md).

Each test installs small plugin distributions written here (tests/plugin_dists.py) on sys.path
or PYTHONPATH, where importlib.metadata finds them as it finds anything pip installed."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, last_json, storyviz
from PIL import Image
from plugin_dists import FAKE_PLUGIN, FAKE_POINTS, write_dist

from storyviz import backend_plugins
from storyviz.backend_plugins import NAME, listing, names
from storyviz.builtin_backends import BUILTINS
from storyviz.errors import BackendError
from storyviz.protocols import Generator
from storyviz.registry import DEFAULTS, ROLES, build, parse_backend, resolve
from storyviz.schemas import RenderRequest

Install = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[1]
FAKE_SUMMARY = "every panel one solid colour (a test plugin); ?color=RRGGBB"


def test_a_plugin_backend_is_found_built_and_draws(plugin_site: Install) -> None:
    plugin_site("storyviz-fake-plugin", "0.1", FAKE_POINTS, FAKE_PLUGIN)
    spec, entry = resolve("generator", "fakecolor?color=00ff00")
    assert (entry.distribution, entry.version, entry.plugin) == (
        "storyviz-fake-plugin",
        "0.1",
        True,
    )
    generator = build("generator", str(spec))
    assert isinstance(generator, Generator)
    result = generator.render(RenderRequest(target_id="p01", prompt="a dog", width=64, height=48))
    assert result.image.size == (64, 48)
    assert result.image.getcolors() == [(64 * 48, (0, 255, 0))]
    with pytest.raises(BackendError, match="backend 'fakecolor' takes no model"):
        resolve("generator", "fakecolor:some-model")  # the declaration's rule, before building


def test_listing_reads_plugin_declarations_without_importing_their_backends(
    plugin_site: Install,
) -> None:
    plugin_site("storyviz-fake-plugin", "0.1", FAKE_POINTS, FAKE_PLUGIN)
    rows, warnings = listing()
    (row,) = [r for r in rows if r.name == "fakecolor"]
    assert row.role == "generator" and row.entry is not None
    assert row.entry.origin == "storyviz-fake-plugin 0.1"
    assert "storyviz_fake_plugin" in sys.modules  # the declaration, for its summary
    assert "storyviz_fake_plugin.render" not in sys.modules  # not the backend
    assert warnings == []


def test_a_plugin_auditor_joins_auditor_chains(plugin_site: Install) -> None:
    plugin_site(
        "storyviz-fake-plugin", "0.1", {"auditor.fakeaud": "storyviz_fake_plugin:FAKECOLOR"},
        FAKE_PLUGIN,
    )  # fmt: skip
    spec = parse_backend("offline+fakeaud?color=00ff00")
    assert [stage.name for stage in (spec, *spec.chain)] == ["offline", "fakeaud"]


def test_a_built_in_name_wins_and_the_listing_warns_about_the_plugin(
    plugin_site: Install,
) -> None:
    plugin_site(
        "storyviz-shadow", "1.0", {"generator.sketch": "storyviz_fake_plugin:FAKECOLOR"},
        FAKE_PLUGIN,
    )  # fmt: skip
    assert resolve("generator", "sketch")[1] is BUILTINS["generator"]["sketch"]
    assert type(build("generator", "sketch")).__name__ == "SketchGenerator"
    rows, warnings = listing()
    assert [r.entry for r in rows if r.name == "sketch"] == [BUILTINS["generator"]["sketch"]]
    assert warnings == [
        "plugin storyviz-shadow 1.0 declares the built-in generator backend 'sketch'; "
        "the built-in is used"
    ]


def test_a_name_two_plugins_declare_is_refused_naming_both(plugin_site: Install) -> None:
    plugin_site("storyviz-twin-a", "1.0", {"generator.twin": "storyviz_fake_plugin:FAKECOLOR"})
    plugin_site(
        "storyviz-twin-b", "2.0", {"generator.twin": "storyviz_fake_plugin:FAKECOLOR"},
        FAKE_PLUGIN,
    )  # fmt: skip
    expected = (
        "the generator backend 'twin' is declared by more than one plugin "
        "(storyviz-twin-a 1.0, storyviz-twin-b 2.0); uninstall all but one to use it"
    )
    with pytest.raises(BackendError) as caught:
        resolve("generator", "twin")
    assert str(caught.value) == expected
    rows, _ = listing()
    (row,) = [r for r in rows if r.name == "twin"]
    assert row.entry is None and row.problem == expected


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (
            "storyviz_broken:BROKEN",
            "plugin storyviz-broken 0.2: the generator backend 'broken' cannot be loaded from "
            "storyviz_broken:BROKEN: ModuleNotFoundError: No module named "
            "'storyviz_no_such_dependency'",
        ),
        (
            "storyviz_fake_plugin:NOT_AN_ENTRY",
            "plugin storyviz-broken 0.2: the generator backend 'broken': "
            "storyviz_fake_plugin:NOT_AN_ENTRY is a str, not a storyviz.registry.BackendEntry",
        ),
        (
            "storyviz_fake_plugin:MISSING",
            "plugin storyviz-broken 0.2: the generator backend 'broken' cannot be loaded from "
            "storyviz_fake_plugin:MISSING: AttributeError: module 'storyviz_fake_plugin' has no "
            "attribute 'MISSING'",
        ),
    ],
)
def test_a_plugin_that_cannot_be_loaded_fails_only_when_used_naming_its_distribution(
    plugin_site: Install, point: str, message: str
) -> None:
    plugin_site("storyviz-fake-plugin", "0.1", FAKE_POINTS, FAKE_PLUGIN)
    plugin_site(
        "storyviz-broken", "0.2", {"generator.broken": point},
        {"storyviz_broken/__init__.py": "import storyviz_no_such_dependency\n"},
    )  # fmt: skip
    with pytest.raises(BackendError) as caught:
        build("generator", "broken")
    assert str(caught.value) == message
    assert build("generator", "fakecolor")  # the others still work
    rows, _ = listing()
    assert [(r.name, r.problem) for r in rows if r.entry is None] == [("broken", message)]
    assert "fakecolor" in [r.name for r in rows if r.entry is not None]


def test_a_plugin_backend_that_cannot_be_imported_is_one_line_naming_the_plugin(
    plugin_site: Install,
) -> None:
    plugin_site(
        "storyviz-fake-plugin", "0.1",
        {
            "generator.gpu": "storyviz_fake_plugin:NEEDS_GPU",
            "generator.typo": "storyviz_fake_plugin:TYPO",
        },
        {**FAKE_PLUGIN, "storyviz_fake_plugin/__init__.py": FAKE_PLUGIN[
            "storyviz_fake_plugin/__init__.py"
        ] + 'TYPO = BackendEntry("storyviz_fake_plugin.render:FakeColour", "a typo")\n'},
    )  # fmt: skip
    with pytest.raises(BackendError) as caught:  # its extra, from its own distribution
        build("generator", "gpu")
    assert str(caught.value) == (
        "the generator backend 'gpu' needs storyviz_fake_plugin_cuda: "
        'pip install "storyviz-fake-plugin[gpu]"'
    )
    with pytest.raises(BackendError) as caught:
        build("generator", "typo")
    assert str(caught.value) == (
        "plugin storyviz-fake-plugin 0.1: the generator backend 'typo' cannot be loaded from "
        "storyviz_fake_plugin.render:FakeColour: AttributeError: module "
        "'storyviz_fake_plugin.render' has no attribute 'FakeColour'"
    )


def test_entry_points_not_named_role_dot_name_are_ignored_with_a_warning(
    plugin_site: Install,
) -> None:
    odd = {"gen.fake": "x:Y", "generator.Fake": "x:Y", "generator": "x:Y", "generator.ok": "x:Y"}
    plugin_site("storyviz-odd", "3", odd)
    assert "ok" in names("generator")
    assert not {"fake", "Fake", "generator", "gen.fake"} & names("generator")
    _, warnings = listing()
    assert len(warnings) == 3
    assert all(w.startswith("plugin storyviz-odd 3: entry point '") for w in warnings)
    assert all("is not ROLE.NAME" in w and w.endswith("; ignored") for w in warnings)


def test_storyviz_own_metadata_is_never_read_so_stale_metadata_changes_nothing(
    plugin_site: Install,
) -> None:
    """An editable install made before a built-in was added or removed, first on sys.path."""
    plugin_site("storyviz", "0.0.1", {"generator.ghost": "x:Y", "generator.sketch": "x:Y"})
    assert names("generator") == set(BUILTINS["generator"])
    assert resolve("generator", "sketch")[1] is BUILTINS["generator"]["sketch"]
    assert listing()[1] == []


def test_pyproject_publishes_exactly_the_built_in_declarations() -> None:
    """The built-ins are read from storyviz/builtin_backends.py; the entry points in
    pyproject.toml publish the same objects under the same names."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    points = project["entry-points"]["storyviz.backends"]
    declared = {}
    for key, value in points.items():
        module, _, attr = value.partition(":")
        declared[key] = getattr(importlib.import_module(module), attr)
    builtins = {f"{r}.{n}": e for r, entries in BUILTINS.items() for n, e in entries.items()}
    assert list(declared) == list(builtins)  # the same names, in the same order
    assert all(declared[key] is entry for key, entry in builtins.items())  # the same objects
    assert all(NAME.match(key.partition(".")[2]) for key in builtins)


def _site_with_plugins(tmp_path: Path) -> Path:
    """A folder with three plugins: a working one, a broken one and one shadowing sketch."""
    site = tmp_path / "site"
    site.mkdir()
    write_dist(site, "storyviz-fake-plugin", "0.1", FAKE_POINTS, FAKE_PLUGIN)
    write_dist(
        site, "storyviz-broken", "0.2", {"generator.broken": "storyviz_broken:BROKEN"},
        {"storyviz_broken/__init__.py": "import storyviz_no_such_dependency\n"},
    )  # fmt: skip
    write_dist(site, "storyviz-shadow", "1.0", {"generator.sketch": "storyviz_fake_plugin:X"})
    return site


def _env(site: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


@pytest.mark.slow
def test_the_cli_lists_and_runs_a_plugin_installed_without_changing_storyviz(
    tmp_path: Path,
) -> None:
    env = _env(_site_with_plugins(tmp_path))
    listed = storyviz("backends", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert any(
        line.split()
        == ["fakecolor", *FAKE_SUMMARY.split(), "[plugin:", "storyviz-fake-plugin", "0.1]"]
        for line in lines
    ), listed.stdout
    (broken,) = [line for line in lines if line.split()[0] == "broken"]
    assert "BROKEN: plugin storyviz-broken 0.2: the generator backend 'broken' cannot" in broken
    assert "sketch" in listed.stdout and "offline" in listed.stdout  # the rest still listed
    assert listed.stderr.splitlines() == [
        "storyviz: warning: plugin storyviz-shadow 1.0 declares the built-in generator backend "
        "'sketch'; the built-in is used"
    ]

    runs = str(tmp_path / "runs")
    summary = last_json(
        storyviz(
            "run", "Mia finds a dog.", "--generator", "fakecolor?color=00ff00",
            "--runs-dir", runs, "--json", "-q", env=env,
        )
    )  # fmt: skip
    assert summary["status"] == "completed"
    run_dir = Path(summary["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["backends"]["generator"] == "fakecolor?color=00ff00"
    panels = sorted((run_dir / "panels").glob("*.png"))
    assert panels
    for panel in panels:
        with Image.open(panel) as image:
            colors = image.convert("RGB").getcolors()
        assert colors == [(image.width * image.height, (0, 255, 0))], panel

    assert_one_line_error(
        storyviz("run", "Mia finds a dog.", "--generator", "broken", "--runs-dir", runs, env=env),
        "plugin storyviz-broken 0.2: the generator backend 'broken' cannot be loaded",
        "No module named 'storyviz_no_such_dependency'",
    )


def test_built_in_backends_are_built_without_reading_plugin_metadata(
    plugin_site: Install,
) -> None:
    plugin_site("storyviz-fake-plugin", "0.1", FAKE_POINTS, FAKE_PLUGIN)
    for role in ROLES:
        build(role, DEFAULTS[role])
    build("auditor", "offline")
    assert backend_plugins._scan.cache_info().currsize == 0  # no entry point was read
    assert "storyviz_fake_plugin" not in sys.modules


@pytest.mark.slow
def test_help_reads_no_plugin_metadata_and_listing_imports_no_backend(tmp_path: Path) -> None:
    """`storyviz --help` imports neither importlib.metadata nor any plugin; listing imports a
    plugin's declaration, never its backend or anything heavy."""
    code = (
        "import json, sys\n"
        "before = 'importlib.metadata' in sys.modules\n"
        "sys.argv = ['storyviz', '--help']\n"
        "from storyviz.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "after = 'importlib.metadata' in sys.modules\n"
        "from storyviz.backend_plugins import listing\n"
        "listing()\n"
        "heavy = ('torch', 'diffusers', 'openai', 'google.genai', 'langgraph',\n"
        "         'storyviz_fake_plugin.render')\n"
        "print(json.dumps([before, after, [m for m in heavy if m in sys.modules],\n"
        "                  'storyviz_fake_plugin' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env=_env(_site_with_plugins(tmp_path)),
    )  # fmt: skip
    before, after, heavy, declaration = json.loads(out.stdout.strip().splitlines()[-1])
    assert after == before
    assert heavy == [] and declaration
