"""Helpers for driving `storyviz studio` in headless Chromium: a server in its own process, a
browser launched from Debian's chromium, and the page actions a person takes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("STORYVIZ_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium calls Google's hosts at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = ("data:", "blob:", "about:")


def need_browser() -> Any:
    """The playwright module, or a skip (a failure where CI asked for the browser tests)."""
    missing = None
    try:
        from playwright import sync_api
    except ImportError:
        missing = "the playwright package is not installed"
    else:
        if not Path(CHROMIUM).is_file():
            missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing is not None:
        if os.environ.get("STORYVIZ_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    return sync_api


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def studio_server(runs: Path, *args: str, timeout: float = 90.0) -> Iterator[str]:
    """`storyviz studio` in its own process on a free port; yields its URL, stops it after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORYVIZ_", "GRADIO_"))}
    log = (runs.parent / f"studio-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyviz", "studio", "--port", str(port), "--runs-dir",
         str(runs), *args],
        cwd=runs.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the studio exited: {_tail(log.name)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the studio did not answer in {timeout} s: {_tail(log.name)}")
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _tail(path: str) -> str:
    return Path(path).read_text(errors="replace")[-2000:]


class Watched:
    """A page with its console errors and every request that left 127.0.0.1 recorded."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def seen(request: Any) -> None:
            if not request.url.startswith((base, *LOCAL_SCHEMES)):
                self.outside.append(request.url)

        page.on("request", seen)

    # -- what a person does ------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.locator("#story textarea").wait_for()

    def notice(self) -> str:
        return str(self.page.locator("#notice textarea").input_value())

    def wait_notice(self, text: str, timeout: float = 60_000) -> str:
        self.page.wait_for_function(
            "t => (document.querySelector('#notice textarea')?.value || '').includes(t)",
            arg=text,
            timeout=timeout,
        )
        return self.notice()

    def plan(self, story: str, panels: int | None = None) -> None:
        self.page.locator("#story textarea").fill(story)
        if panels is not None:
            self.page.locator("#panels input").fill(str(panels))
        self.page.locator("#plan").click()

    def approve_plan(self, story: str, panels: int) -> None:
        """Plan `story`, wait for the plan, and approve it (the drawing starts)."""
        self.plan(story, panels=panels)
        self.wait_notice("Here is the plan")
        self.page.locator("#approve").click()

    def images(self, gallery: str) -> list[tuple[str, int]]:
        """(src, naturalWidth) of each thumbnail in a gallery, once every one has loaded."""
        selector = f"#{gallery} .thumbnails img, #{gallery} .grid-container img"
        self.page.locator(f"#{gallery}").scroll_into_view_if_needed()
        self.page.evaluate(  # thumbnails load lazily: a person scrolls past each one
            "s => document.querySelectorAll(s).forEach(i => { i.loading = 'eager'; })", selector
        )
        self.page.wait_for_function(
            "s => Array.from(document.querySelectorAll(s)).every(i => i.complete)", arg=selector
        )
        found = self.page.evaluate(
            "s => Array.from(document.querySelectorAll(s)).map(i => [i.src, i.naturalWidth])",
            selector,
        )
        return [(str(src), int(width)) for src, width in found]

    def wait_images(self, gallery: str, count: int, timeout: float = 60_000) -> None:
        self.page.wait_for_function(
            "([g, n]) => document.querySelectorAll(`#${g} .grid-container img`).length >= n",
            arg=[gallery, count],
            timeout=timeout,
        )

    def choose(self, elem_id: str, value: str, *, exact: bool = True) -> None:
        """Pick an option of a Gradio dropdown as a person does: open it, click the option."""
        self.page.locator(f"#{elem_id} input").click()
        option = self.page.locator(f"#{elem_id} [role=option]")
        wanted = re.compile(rf"^\W*{re.escape(value)}\s*$") if exact else value
        option.filter(has_text=wanted).first.click()
