"""Which font letters a piece of text: a comic face for Latin, a covering face for every script.

A font that lacks a glyph draws a box ("tofu") and nobody notices until the comic is printed. So
each text is given the first face in a chain that has a glyph for every one of its characters,
judged from the font's own character map (fontTools), never guessed from its name. The chain is:
the fonts the user configured (`fonts` setting / STORYVIZ_FONTS), then the bundled Comic Neue
(Latin only, OFL, so lettering looks the same on every machine), then common system fonts found
on disk (DejaVu for Cyrillic and Greek, Noto CJK / WenQuanYi / Droid for Chinese, Japanese and
Korean, ...). Characters that no face covers are reported by script (`font_warnings`), so a run
can say "no font for Cyrillic" instead of silently printing boxes.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import ImageFont

from storyviz.errors import ConfigError

if TYPE_CHECKING:
    from storyviz.schemas import StoryPlan

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

BUNDLED_DIR = Path(__file__).parent / "data" / "fonts"
BUNDLED_REGULAR = BUNDLED_DIR / "ComicNeue-Regular.otf"
BUNDLED_BOLD = BUNDLED_DIR / "ComicNeue-Bold.otf"

# File names looked for in the system font folders, best first. Broad Latin/Cyrillic/Greek faces
# come before CJK ones: a CJK face covers Latin too, but with narrow, plain letters.
SYSTEM_REGULAR = (
    "DejaVuSans.ttf",
    "NotoSans-Regular.ttf",
    "LiberationSans-Regular.ttf",
    "FreeSans.ttf",
    "Arial.ttf",
    "arial.ttf",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.otf",
    "NotoSansSC-Regular.ttf",
    "SourceHanSans-Regular.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "DroidSansFallbackFull.ttf",
    "msyh.ttc",
    "PingFang.ttc",
    "NotoSansArabic-Regular.ttf",
    "NotoSansHebrew-Regular.ttf",
    "NotoSansDevanagari-Regular.ttf",
    "NotoSansThai-Regular.ttf",
    "Arial Unicode.ttf",
    "arialuni.ttf",
)
SYSTEM_BOLD = (
    "DejaVuSans-Bold.ttf",
    "NotoSans-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "FreeSansBold.ttf",
    "Arial Bold.ttf",
    "arialbd.ttf",
    "NotoSansCJK-Bold.ttc",
)

INSTALL_HINTS = {
    "CJK": "fonts-noto-cjk or fonts-wqy-microhei",
    "Hangul": "fonts-noto-cjk",
    "Cyrillic": "fonts-dejavu-core",
    "Greek": "fonts-dejavu-core",
}

_CJK_WORDS = frozenset({"CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH"})


def font_dirs() -> list[Path]:
    """Where operating systems keep fonts (Linux, macOS, Windows)."""
    home = Path.home()
    dirs = [
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        home / ".local/share/fonts",
        home / ".fonts",
        Path("/Library/Fonts"),
        Path("/System/Library/Fonts"),
        home / "Library/Fonts",
    ]
    if sys.platform == "win32":
        dirs.append(Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts")
    return dirs


@lru_cache(maxsize=1)
def _system_files() -> dict[str, str]:
    """File name -> path of every font file in the font folders (walked once per process)."""
    found: dict[str, str] = {}
    for folder in font_dirs():
        if not folder.is_dir():
            continue
        for root, _dirs, files in os.walk(folder):
            for name in files:
                if name.lower().endswith((".ttf", ".otf", ".ttc")):
                    found.setdefault(name, os.path.join(root, name))
    return found


def discover(names: Sequence[str]) -> list[str]:
    """Paths of the named system fonts that exist here, in the order given."""
    files = _system_files()
    return [files[name] for name in names if name in files]


@lru_cache(maxsize=64)
def coverage(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (first face of a collection)."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (OSError, TTLibError, AssertionError, KeyError) as exc:
        raise ConfigError(f"cannot read font {path}: {exc}") from None
    return frozenset(cmap)


def script_of(char: str) -> str:
    """A readable script name for a character, from its Unicode name ('Cyrillic', 'CJK')."""
    name = unicodedata.name(char, "")
    word = name.split(" ", 1)[0] if name else ""
    if word in _CJK_WORDS:
        return "CJK"
    if not word or unicodedata.category(char).startswith(("S", "P", "N")):
        return word.title() if word in {"LATIN", "CYRILLIC", "GREEK"} else "symbols"
    return word.title()


def _needs_glyph(char: str) -> bool:
    """Spaces and invisible format characters draw nothing, so no font has to cover them."""
    return not char.isspace() and unicodedata.category(char) not in {"Cc", "Cf", "Zs"}


@dataclass(frozen=True)
class FontBook:
    """The chains of font files for regular and bold lettering, first choice first."""

    regular: tuple[str, ...]
    bold: tuple[str, ...]

    @classmethod
    def build(cls, configured: Sequence[str | Path] = (), discovery: bool = True) -> FontBook:
        user = tuple(str(Path(p).expanduser()) for p in configured)
        for path in user:
            if not Path(path).is_file():
                raise ConfigError(f"fonts: {path} is not a font file")
            coverage(path)  # unreadable fonts fail here, with their name
        regular = [*user, str(BUNDLED_REGULAR)]
        bold = [*user, str(BUNDLED_BOLD)]
        if discovery:
            regular += discover(SYSTEM_REGULAR)
            bold += discover(SYSTEM_BOLD)
        bold += regular  # a script without a bold face is still better lettered than boxed
        return cls(tuple(dict.fromkeys(regular)), tuple(dict.fromkeys(bold)))

    def chain(self, bold: bool) -> tuple[str, ...]:
        return self.bold if bold else self.regular

    def face_for(self, text: str, bold: bool = False) -> str | None:
        """The first font covering every character of `text`, else the one covering most."""
        needed = {ord(c) for c in text if _needs_glyph(c)}
        best, best_missing = None, len(needed) + 1
        for path in self.chain(bold):
            missing = len(needed - coverage(path))
            if missing == 0:
                return path
            if missing < best_missing:
                best, best_missing = path, missing
        return best

    def missing(self, text: str, bold: bool = False) -> str:
        """Characters of `text` that no font in the chain can draw, in order, once each."""
        faces = [coverage(path) for path in self.chain(bold)]
        out = dict.fromkeys(
            c for c in text if _needs_glyph(c) and not any(ord(c) in f for f in faces)
        )
        return "".join(out)


@lru_cache(maxsize=512)
def truetype(path: str, size: int) -> Font:
    return ImageFont.truetype(path, size)


_books: dict[tuple[tuple[str, ...], bool], FontBook] = {}


def active_book() -> FontBook:
    """The font book for the current configuration (settings, storyviz.toml, STORYVIZ_FONTS),
    built once per distinct configuration."""
    from storyviz.config import load_settings

    settings = load_settings()
    key = (tuple(str(p) for p in settings.fonts), settings.font_discovery)
    book = _books.get(key)
    if book is None:
        book = _books[key] = FontBook.build(*key)
    return book


def font_for(text: str, size: int, bold: bool = False, book: FontBook | None = None) -> Font:
    """The lettering font for `text` at `size`: what every piece of lettering asks for."""
    path = (book or active_book()).face_for(text, bold)
    if path is None:
        return ImageFont.load_default(size=size)
    return truetype(path, size)


def plan_texts(plan: StoryPlan) -> Iterable[tuple[str, bool]]:
    """Every lettered text of a plan, with whether it is set in bold."""
    yield plan.title, False
    for panel in plan.panels:
        if panel.caption:
            yield panel.caption, False
        for line in panel.dialogue:
            yield line.text, line.kind == "shout"


def missing_scripts(plan: StoryPlan, book: FontBook | None = None) -> dict[str, str]:
    """Script name -> the characters of that script no configured or found font can draw."""
    book = book or active_book()
    by_script: dict[str, str] = {}
    for text, bold in plan_texts(plan):
        for char in book.missing(text, bold):
            script = script_of(char)
            if char not in by_script.get(script, ""):
                by_script[script] = by_script.get(script, "") + char
    return by_script


def font_warnings(plan: StoryPlan, book: FontBook | None = None) -> list[str]:
    """One line per script the lettering cannot draw, naming the script and what to install."""
    lines = []
    for script, chars in sorted(missing_scripts(plan, book).items()):
        hint = INSTALL_HINTS.get(script, "a font that covers it")
        sample = chars[:8]
        lines.append(
            f"no font for {script} text ({sample!r}): those letters would print as boxes; "
            f"install {hint} or add a font file to the `fonts` setting (STORYVIZ_FONTS)"
        )
    return lines
