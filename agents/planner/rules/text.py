"""Text helpers every planner rule shares: words, lengths, slugs and stable seeds.

All rule modules read the story through the same word pattern and the same notion of "how much
story is this", so a Chinese story and an English one are measured alike and planning stays
deterministic across processes (nothing here uses Python's per-process string hash).
"""

from __future__ import annotations

import re
import unicodedata
import zlib

from storyviz.text_checks import without_escape_sequences


def vocabulary(text: str) -> tuple[str, ...]:
    """The words of a vocabulary written as one whitespace-separated string, in order."""
    return tuple(text.split())


def wordset(text: str) -> frozenset[str]:
    """A vocabulary written as one whitespace-separated string, as a set for look-ups."""
    return frozenset(text.split())


WORD_RE = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
"""A word: letters, with inner hyphens and apostrophes ("red-haired", "Bolt's")."""

_CJK_CHAR_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
_CYRILLIC_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
        vocabulary(
            "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya i yi ye g"
        ),
        strict=True,
    )
)
_CYRILLIC_LATIN["ъ"] = _CYRILLIC_LATIN["ь"] = ""

FUNCTION_WORDS = wordset(
    """a an the this that these those my your his her its our their and or but nor so yet
    of in on at to from by for with without into onto upon over under above below behind
    beside besides between through across around near toward towards about after before
    during until while as than then when where who whom whose which what is am are was were
    be been being has have had do does did not no will would can could shall should may might
    must he she it they we you i me him us them"""
)
"""Words that glue a sentence together and are never part of a description or a name."""

_COMMON_VERBS = wordset(
    """is was are were has had have can could will would shall should may might must did does
    do said says asked asks ran run runs went goes go came comes come saw sees see found finds
    looked looks smiled smiles laughed laughs cried cries walked walks jumped jumps took takes
    gave gives made makes knew knows thought thinks felt feels got gets sat sits stood stands
    fell falls ate eats slept sleeps woke wakes heard hears held holds hid hides flew flies
    swam swims sang sings met meets left leaves led leads kept keeps let lets began begins
    became becomes brought brings bought buys caught catches chose drew draws drove drives
    forgot forgets grew grows hugged hugs kissed kisses lay lies lost loses loved loves
    opened opens picked picks pulled pulls pushed pushes put puts read reads rode rides rose
    sat saw shook shakes shouted shouts smiled sighed sighs spoke speaks spun stared stares
    stepped steps stopped stops struck swung told tells threw throws tried tries turned turns
    waited waits wanted wants watched watches whispered whispers wore wears wrote writes
    crept creeps froze freezes wept weeps knelt kneels leapt leaps dug digs slid slides
    stole steals broke breaks hung hangs fed feeds paid pays sold sells won wins shut shuts
    lit lights spent spends sent sends built builds bent bends burst bursts
    yelled yells"""
)
_NOT_VERBS_IN_S = wordset(
    """his hers its this thus yes us bus gas always perhaps towards afterwards sometimes
    besides less unless across was is has does goes"""
)
_RUSSIAN_VERB_ENDINGS = vocabulary(
    "ла ло ли ал ил ел ул ыл ет ит ут ют ат ят ёт ется ится лся лась ешь ял"
)


def normalise_story(text: str) -> str:
    """NFC, one kind of newline, no control characters and no runs of blanks.

    Every later offset refers to this string, so it is computed once, first.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", without_escape_sequences(text))
    text = _SPACES_RE.sub(" ", text)
    text = re.sub(r" *\n *", "\n", text)
    return text.strip()


def squash(text: str) -> str:
    """Whitespace runs (newlines included) as single spaces."""
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when one is near, ending in "…"."""
    text = squash(text)
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def has_cjk(text: str) -> bool:
    return _CJK_CHAR_RE.search(text) is not None


def weight(text: str) -> float:
    """How much story a span holds, in words; a CJK character counts as half a word."""
    cjk = len(_CJK_CHAR_RE.findall(text))
    latin = sum(1 for word in WORD_RE.findall(text) if not has_cjk(word))
    return latin + cjk / 2


def slugify(text: str) -> str:
    """An ASCII id: Latin letters are folded, Cyrillic transliterated, anything else dropped."""
    folded = "".join(_CYRILLIC_LATIN.get(ch, ch) for ch in text.lower())
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def stable_seed(*parts: object) -> int:
    """A 32-bit seed that is the same in every process (Python's str hash is salted per process)."""
    return zlib.crc32("\x1f".join(str(part) for part in parts).encode("utf-8"))


def looks_like_verb(word: str) -> bool:
    """Whether a word right after a capitalised word reads as its verb ("Mia walks", "Bolt beeped").

    A guess from a few common verbs and English/Russian endings: good enough to tell "Mia walks"
    from "Paris streets", which is all the name finder asks of it.
    """
    lower = word.lower()
    if lower in _COMMON_VERBS:
        return True
    if not word.islower() or lower in _NOT_VERBS_IN_S or lower in FUNCTION_WORDS:
        return False
    if "а" <= lower[0] <= "я" or lower[0] == "ё":
        return len(lower) > 3 and lower.endswith(_RUSSIAN_VERB_ENDINGS)
    if len(lower) > 3 and lower.endswith("s") and not lower.endswith(("ss", "us", "is", "ous")):
        return True
    return len(lower) > 4 and lower.endswith("ed")
