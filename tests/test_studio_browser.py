"""storyviz studio in a real browser (headless Chromium through Playwright), used as a person
uses it: the server is `storyviz studio` in its own process on the offline backends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from studio_browser import CHROMIUM, CHROMIUM_ARGS, Watched, need_browser, studio_server

pytestmark = pytest.mark.slow

STORY = (
    "Mia, a girl with red hair and a yellow raincoat, finds a small dog named Bolt in the park. "
    '"Hello!" says Mia. Bolt barks. They run home in the rain.'
)
# Where the README's screenshot comes from: STORYVIZ_SCREENSHOT=docs/images/studio.png pytest ...
SCREENSHOT = os.environ.get("STORYVIZ_SCREENSHOT")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = need_browser()
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    runs = tmp_path_factory.mktemp("studio") / "runs"
    with studio_server(runs) as url:
        yield url, runs


def watched(browser: Any, url: str) -> Watched:
    context = browser.new_context(viewport={"width": 1280, "height": 1600}, accept_downloads=True)
    return Watched(context.new_page(), url)


def srcs(w: Watched) -> list[str]:
    return [src for src, _ in w.images("panels-gallery")]


def test_make_a_comic_edit_it_redraw_and_download(browser: Any, server: tuple[str, Path]) -> None:
    from pypdf import PdfReader

    url, _ = server
    w = watched(browser, url)
    w.open(url)
    w.plan(STORY, panels=3)
    assert "Here is the plan: 3 panels, 2 characters" in w.wait_notice("Here is the plan")
    assert w.page.locator("#characters").get_by_text("Mia", exact=True).count() == 1
    assert w.images("panels-gallery") == []  # nothing is drawn before approval

    w.page.locator("#approve").click()
    w.wait_notice("Drew 3 panel(s)")
    w.wait_images("panels-gallery", 3)
    drawn = w.images("panels-gallery")
    assert len(drawn) == 3 and all(width > 0 for _, width in drawn)
    assert all(width > 0 for _, width in w.images("references"))
    assert all(width > 0 for _, width in w.images("pages"))
    first = [src for src, _ in drawn]

    w.page.locator("#message textarea").fill("make panel 2 at night")
    w.page.locator("#message textarea").press("Enter")
    assert "Redrawn: panel 2 (p02)" in w.wait_notice("Drew 1 panel(s)")
    edited = srcs(w)
    assert [a != b for a, b in zip(first, edited, strict=True)] == [False, True, False]

    w.choose("which", "3")
    w.page.locator("#caption textarea").wait_for()
    w.page.wait_for_function("() => document.querySelector('#caption textarea').value !== ''")
    w.page.get_by_label("Seed (empty: a new one)").fill("4242")
    w.page.locator("#redraw").click()
    w.wait_notice("run seed 4242")
    redrawn = srcs(w)
    assert [a != b for a, b in zip(edited, redrawn, strict=True)] == [False, False, True]

    w.page.locator("#export").click()
    w.wait_notice("Exported pdf")
    with w.page.expect_download() as download:
        w.page.locator("#download a[download]").first.click()
    saved = download.value.path()
    assert len(PdfReader(saved).pages) >= 1

    report = w.page.locator("#report-link")
    assert report.get_attribute("target") == "_blank"
    with w.page.context.expect_page() as opened:
        report.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert "Consistency" in tab.content() or "consistency" in tab.content()

    if SCREENSHOT:
        w.page.screenshot(path=SCREENSHOT, full_page=False)
    assert w.errors == []
    assert w.outside == []
    w.page.context.close()


def test_bad_input_is_a_message_and_the_text_stays(browser: Any, server: tuple[str, Path]) -> None:
    url, _ = server
    w = watched(browser, url)
    w.open(url)
    w.page.locator("#style input, #style textarea").first.fill("ink wash")
    w.page.locator("#plan").click()
    assert "The story is empty" in w.wait_notice("⚠")
    assert w.page.locator("#style input, #style textarea").first.input_value() == "ink wash"

    w.page.locator("#story textarea").fill("Mia walks her dog.")
    w.page.locator("#backend-generator input").fill("nope:model")
    w.page.locator("#backend-generator input").press("Enter")
    w.page.locator("#plan").click()
    message = w.wait_notice("nope")
    assert message.startswith("⚠") and "Traceback" not in message
    assert w.page.locator("#story textarea").input_value() == "Mia walks her dog."
    assert w.errors == [] and w.outside == []
    w.page.context.close()


def test_story_text_is_shown_as_text_never_as_markup(
    browser: Any, server: tuple[str, Path]
) -> None:
    url, _ = server
    w = watched(browser, url)
    w.open(url)
    hostile = 'Mia <img src=x onerror="window.__owned=1"> finds <b>Bolt</b> the dog.'
    w.plan(hostile, panels=1)
    w.wait_notice("Here is the plan")
    chat = w.page.locator("#chat")
    chat.get_by_text('<img src=x onerror="window.__owned=1">', exact=False).first.wait_for()
    assert w.page.evaluate("() => window.__owned") is None
    assert chat.locator("img[src='x'], b").count() == 0
    assert w.outside == []
    w.page.context.close()


def test_two_browser_sessions_never_see_each_other(browser: Any, server: tuple[str, Path]) -> None:
    url, _ = server
    one, two = watched(browser, url), watched(browser, url)
    one.open(url)
    two.open(url)
    one.plan(STORY, panels=2)
    one.wait_notice("Here is the plan")
    two.plan("Old Tom, a sailor in a blue coat, fishes by the sea.", panels=1)
    two.wait_notice("Here is the plan")
    assert one.page.locator("#title textarea, #title input").first.input_value() != (
        two.page.locator("#title textarea, #title input").first.input_value()
    )
    assert one.page.locator("#chat").get_by_text("Old Tom").count() == 0
    one.page.context.close()
    two.page.context.close()


def test_a_thread_reopens_after_the_server_restarts(browser: Any, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with studio_server(runs) as url:
        w = watched(browser, url)
        w.open(url)
        w.approve_plan(STORY, panels=2)
        w.wait_notice("Drew 2 panel(s)")
        w.page.context.close()
    with studio_server(runs) as url:
        w = watched(browser, url)
        w.open(url)
        w.page.locator("#refresh").click()
        w.choose("threads", "Mia", exact=False)
        w.page.locator("#reopen").click()
        assert "Resuming thread" in w.wait_notice("Resuming thread")
        w.wait_images("panels-gallery", 2)
        assert all(width > 0 for _, width in w.images("panels-gallery"))
        assert w.page.locator("#chat").get_by_text("Hello!", exact=False).count() >= 1
        assert w.errors == [] and w.outside == []
        w.page.context.close()


def test_findings_show_their_boxes_and_a_version_can_be_picked(
    browser: Any, tmp_path: Path
) -> None:
    with studio_server(tmp_path / "runs", "--generator", "sketch?drift=1") as url:
        w = watched(browser, url)
        w.open(url)
        w.approve_plan(STORY, panels=3)
        w.wait_notice("Drew 3 panel(s)")
        w.wait_images("panels-gallery", 3)
        before = srcs(w)

        w.choose("flagged", "finding", exact=False)  # "2. p02 v1 (1 finding)"
        marked = w.page.locator("#marked")
        marked.locator("img").first.wait_for()
        w.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('#marked img')).some("
            "i => i.complete && i.naturalWidth > 0)"
        )
        assert marked.get_by_text("expected", exact=False).count() >= 1  # the legend

        for n in ("1", "2", "3"):
            w.choose("which", n)
            w.page.wait_for_function(
                "() => document.querySelector('#caption textarea').value !== ''"
            )
            w.page.locator("#version input").click()
            options = w.page.locator("#version [role=option]")
            options.first.wait_for()
            labels = [t.strip() for t in options.all_inner_texts()]
            if len(labels) > 1:
                other = next(label for label in labels if "shown" not in label)
                options.filter(has_text=other).first.click()
                break
            w.page.keyboard.press("Escape")
        else:
            raise AssertionError("drift=1 makes the auditor repair some panel")
        w.page.locator("#version-preview img").wait_for()
        w.page.locator("#use-version").click()
        assert f"Panel {n} (p0{n}) now shows {other.split(' ')[0]}" in w.wait_notice("now shows")
        after = srcs(w)
        changed = [a != b for a, b in zip(before, after, strict=True)]
        assert changed == [str(i) == n for i in (1, 2, 3)]
        assert w.errors == [] and w.outside == []
        w.page.context.close()


def test_cancel_stops_a_slow_drawing_and_the_page_goes_on(browser: Any, tmp_path: Path) -> None:
    with studio_server(tmp_path / "runs", "--generator", "sketch?delay=1.5") as url:
        w = watched(browser, url)
        w.open(url)
        w.approve_plan(STORY, panels=4)
        w.wait_notice("drew the reference sheet")  # the drawing is under way
        w.page.locator("#cancel").click()
        assert "cancelled" in w.wait_notice("cancelled", timeout=30_000)
        assert "Traceback" not in w.notice()
        assert len(w.images("panels-gallery")) < 4
        w.page.locator("#message textarea").fill("make panel 2 at night")
        w.page.locator("#message textarea").press("Enter")
        assert "Changed" in w.wait_notice("panel 2") or "Redrawn" in w.notice()
        assert w.errors == [] and w.outside == []
        w.page.context.close()
