"""Fonts: Comic Neue for Latin, a covering face for Cyrillic and CJK, and a warning, never boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.config import load_settings
from storyviz.errors import ConfigError
from storyviz.fonts import (
    BUNDLED_BOLD,
    BUNDLED_REGULAR,
    FontBook,
    active_book,
    coverage,
    font_warnings,
    script_of,
)
from storyviz.lettering import LetteringStyle, layout_lettering
from storyviz.schemas import StoryPlan, StoryRequest

RUSSIAN = (
    "Маша, девочка с рыжими волосами, гуляет в лесу. Она находит маленького ежика. "
    "«Привет!» — говорит Маша. Ежик фыркает. «Пойдём домой», — шепчет Маша."
)
CHINESE = (
    "小明是一个戴红帽子的男孩。他在公园里遇到了一只白猫。“你好！”小明说。"
    "猫叫了一声。“你饿了吗？”小明问。"
)
LATIN_ONLY = FontBook.build([BUNDLED_REGULAR], discovery=False)
SYSTEM = FontBook.build()


def _plan(story: str) -> StoryPlan:
    return OfflinePlanner().plan(StoryRequest(story=story, panels=3))


def _covering(sample: str) -> str | None:
    """The system font the book picks for `sample`, if one covers every character."""
    face = SYSTEM.face_for(sample)
    return face if face and not SYSTEM.missing(sample) else None


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> np.ndarray:
    return np.asarray(font.getmask(char))


def test_latin_is_lettered_in_the_bundled_comic_font() -> None:
    assert BUNDLED_REGULAR.is_file() and (BUNDLED_REGULAR.parent / "OFL.txt").is_file()
    assert SYSTEM.face_for("Are you lost? WOOF!") == str(BUNDLED_REGULAR)
    assert SYSTEM.face_for("BZZT!", bold=True) == str(BUNDLED_BOLD)
    assert ord("Ж") not in coverage(str(BUNDLED_REGULAR))  # Latin only: others need a fallback


@pytest.mark.parametrize(
    ("story", "sample", "script"),
    [(RUSSIAN, "Привет", "Cyrillic"), (CHINESE, "你好", "CJK")],
    ids=["russian", "chinese"],
)
def test_other_scripts_get_a_font_with_real_glyphs(story: str, sample: str, script: str) -> None:
    face = _covering(sample)
    if face is None:
        pytest.skip(
            f"no {script} font on this machine (CI installs one); warning path tested below"
        )
    plan = _plan(story)
    assert font_warnings(plan, SYSTEM) == []
    font = ImageFont.truetype(face, 40)
    notdef = _glyph(font, "\U0010fffd")  # a private-use code point: the font's .notdef box
    for char in sample:
        glyph = _glyph(font, char)
        assert glyph.shape != notdef.shape or not np.array_equal(glyph, notdef), char
    # the lettering of the plan's dialogue uses that covering face, not the Latin one
    panel = next(p for p in plan.panels if p.dialogue)
    layout = layout_lettering(
        panel, (0.0, 0.0, 900.0, 700.0), {}, "ltr", LetteringStyle.for_page(1240, SYSTEM)
    )
    for balloon in layout.balloons:
        assert isinstance(balloon.text.font, ImageFont.FreeTypeFont)
        assert not SYSTEM.missing(balloon.line.text)
        assert set(balloon.line.text) - {" "} <= {chr(c) for c in coverage(balloon.text.font.path)}


@pytest.mark.parametrize(
    ("story", "script"), [(RUSSIAN, "Cyrillic"), (CHINESE, "CJK")], ids=["russian", "chinese"]
)
def test_a_latin_only_font_setup_names_the_missing_script(story: str, script: str) -> None:
    warnings = font_warnings(_plan(story), LATIN_ONLY)
    assert len(warnings) == 1
    assert f"no font for {script} text" in warnings[0] and "STORYVIZ_FONTS" in warnings[0]


def test_fonts_setting_is_a_path_list_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STORYVIZ_FONTS", str(BUNDLED_REGULAR))
    monkeypatch.setenv("STORYVIZ_FONT_DISCOVERY", "false")
    settings = load_settings()
    assert settings.fonts == [BUNDLED_REGULAR] and settings.font_discovery is False
    assert active_book().regular == (str(BUNDLED_REGULAR),)
    assert "Cyrillic" in font_warnings(_plan(RUSSIAN))[0]  # the configured book, no argument


def test_a_missing_font_file_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYVIZ_FONTS", "/no/such/font.ttf")
    with pytest.raises(ConfigError, match="fonts: /no/such/font.ttf is not a font file"):
        load_settings()
    with pytest.raises(ConfigError, match="is not a font file"):
        FontBook.build([Path("/no/such/font.ttf")])


def test_scripts_are_named_for_people() -> None:
    assert [script_of(c) for c in "aЖ中あ한α"] == [
        "Latin",
        "Cyrillic",
        "CJK",
        "CJK",
        "Hangul",
        "Greek",
    ]


def test_a_run_without_a_cyrillic_font_records_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from storyviz.agents.runner import start_run
    from storyviz.run_store import Run

    monkeypatch.setenv("STORYVIZ_FONTS", str(BUNDLED_REGULAR))
    monkeypatch.setenv("STORYVIZ_FONT_DISCOVERY", "false")
    settings = load_settings(runs_dir=tmp_path)
    outcome = start_run(settings, StoryRequest(story=RUSSIAN, panels=2))
    assert outcome.status == "completed"  # the comic is still made, and says what is wrong
    warnings = [e for e in Run(Path(outcome.run_dir)).events() if e.event == "warning"]
    assert len(warnings) == 1 and "no font for Cyrillic" in warnings[0].detail["message"]
    report = (Path(outcome.run_dir) / "report.html").read_text()
    assert "warning: no font for Cyrillic" in report  # a reader of the report sees it too
