"""Line breaking for every script, and where a balloon starts on the page's reading side."""

from __future__ import annotations

import pytest

from storyviz.fonts import FontBook, font_for
from storyviz.lettering import LetteringStyle, layout_lettering, wrap_text
from storyviz.schemas import DialogueLine, PanelSpec, ReadingOrder

BOOK = FontBook.build()
CHINESE = "你好！你是从哪里来的呀？我可以带你回家吗？"


def test_unspaced_chinese_breaks_between_characters_not_before_punctuation() -> None:
    font = font_for(CHINESE, 24, book=BOOK)
    width = font.getlength(CHINESE) / 3.2  # room for about a third of the line
    lines = wrap_text(CHINESE, font, width)
    assert "".join(lines) == CHINESE  # nothing lost, no spaces added
    assert len(lines) >= 4
    for line in lines:
        assert font.getlength(line) <= width + 1
        assert line[0] not in "！？，。"  # closing punctuation never starts a line


def test_spaced_scripts_still_break_at_spaces() -> None:
    text = "Мы пойдём домой вместе, хорошо?"
    font = font_for(text, 24, book=BOOK)
    lines = wrap_text(text, font, font.getlength("пойдём домой"))
    assert " ".join(lines) == text and len(lines) > 2


@pytest.mark.parametrize("order", ["ltr", "rtl"])
def test_a_lone_balloon_starts_on_the_reading_side(order: ReadingOrder) -> None:
    panel = PanelSpec(
        id="p01", beat="b", dialogue=[DialogueLine(speaker_id=None, text="Far away, a bell rang.")]
    )
    area = (0.0, 0.0, 900.0, 600.0)
    layout = layout_lettering(panel, area, {}, order, LetteringStyle.for_page(1240, BOOK))
    [balloon] = layout.balloons
    on_left = balloon.center[0] < area[2] / 2
    assert on_left == (order == "ltr")
