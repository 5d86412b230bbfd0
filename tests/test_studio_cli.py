"""`storyviz studio` on the command line: bad flags are one line and exit 2, the page is served
on the offline backends without torch, and the launch defaults are the safe ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storyviz.errors import InputError
from storyviz.studio.launch import ServeOptions, launch_kwargs, parse_auth


def studio(*args: str, pre: str = "") -> subprocess.CompletedProcess[str]:
    argv = ["storyviz", "studio", *args]
    code = f"{pre}import sys; from storyviz.cli import main; sys.argv = {argv!r}; main()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "pre", "fragment"),
    [
        (("--port", "0"), "", "--port must be between 1 and 65535"),
        (("--auth", "me"), "", "--auth takes USER:PASSWORD"),
        (("--concurrency", "0"), "", "--concurrency must be 1 or more"),
        (("--generator", "nope"), "", "nope"),
        ((), "sys.modules['gradio'] = None; ", 'pip install "storyviz[studio]"'),
    ],
)
def test_bad_flags_are_one_line(args: tuple[str, ...], pre: str, fragment: str) -> None:
    done = studio(*args, "--runs-dir", "runs", pre=f"import sys; {pre}")
    assert done.returncode == 2, done.stderr
    assert fragment in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_the_page_builds_on_the_offline_backends_without_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from storyviz.config import load_settings; "
        "from storyviz.studio.launch import prepare_environment; "
        f"prepare_environment(Path({str(tmp_path)!r})); "
        "from storyviz.studio.page import build_page; "
        f"build_page(load_settings(runs_dir={str(tmp_path)!r}), {{}}); "
        "print('torch' in sys.modules, 'diffusers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_safe_defaults_and_the_warning_for_an_open_address(tmp_path: Path) -> None:
    kwargs = launch_kwargs(ServeOptions(), tmp_path)
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False
    assert kwargs["allowed_paths"] == [str(tmp_path.resolve())] and kwargs["show_error"] is False
    assert ServeOptions().warnings() == []
    assert "without --auth" in ServeOptions(host="0.0.0.0").warnings()[0]
    assert ServeOptions(host="0.0.0.0", auth=("me", "pw")).warnings() == []


def test_auth_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_auth("me:se:cret") == ("me", "se:cret")
    assert parse_auth(None) is None
    monkeypatch.setenv("STORYVIZ_STUDIO_PASSWORD", "pw")
    assert parse_auth("me") == ("me", "pw")
    with pytest.raises(InputError):
        parse_auth(":pw")
