"""Character rules for Chinese and Japanese text, which has neither capitals nor spaces.

Names come from naming patterns (in names.py); this module finds creature nouns ("机器狗",
"女の子"), colours on parts ("红头发", "黄色的雨衣") and the patterns that tie a name to a noun
("名叫米娅的女孩", "给它取名叫波尔特"), so CJK stories get the same kind of characters as
English ones, only with a smaller vocabulary.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

from storyviz.agents.planner.rules.looks import Feature, NounPhrase, make_feature

if TYPE_CHECKING:
    from storyviz.agents.planner.rules.characters import CharacterDraft

# surface -> (English creature noun, adjectives it implies)
_CREATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "机器狗": ("dog", ("robot",)),
    "机器猫": ("cat", ("robot",)),
    "机器人": ("robot", ()),
    "小女孩": ("girl", ("little",)),
    "女孩": ("girl", ()),
    "小男孩": ("boy", ("little",)),
    "男孩": ("boy", ()),
    "女人": ("woman", ()),
    "男人": ("man", ()),
    "老人": ("man", ("old",)),
    "老爷爷": ("grandfather", ()),
    "老奶奶": ("grandmother", ()),
    "熊猫": ("panda", ()),
    "小狗": ("dog", ("small",)),
    "狗": ("dog", ()),
    "小猫": ("kitten", ()),
    "猫": ("cat", ()),
    "小鸟": ("bird", ("small",)),
    "鸟": ("bird", ()),
    "龙": ("dragon", ()),
    "兔子": ("rabbit", ()),
    "狐狸": ("fox", ()),
    "老师": ("teacher", ()),
    "国王": ("king", ()),
    "公主": ("princess", ()),
    "王子": ("prince", ()),
    "ロボット犬": ("dog", ("robot",)),
    "ロボット": ("robot", ()),
    "女の子": ("girl", ()),
    "男の子": ("boy", ()),
    "少女": ("girl", ()),
    "少年": ("boy", ()),
    "子犬": ("puppy", ()),
    "犬": ("dog", ()),
    "子猫": ("kitten", ()),
    "おじいさん": ("grandfather", ()),
    "おばあさん": ("grandmother", ()),
}
_CREATURE_RE = re.compile("|".join(sorted(map(re.escape, _CREATURES), key=len, reverse=True)))

_COLOURS: dict[str, str] = {
    "红": "red",
    "赤": "red",
    "黄": "yellow",
    "蓝": "blue",
    "青": "blue",
    "绿": "green",
    "緑": "green",
    "黑": "black",
    "黒": "black",
    "白": "white",
    "银": "silver",
    "銀": "silver",
    "灰": "grey",
    "紫": "purple",
    "粉": "pink",
    "橙": "orange",
    "棕": "brown",
    "褐": "brown",
    "茶": "brown",
    "金": "golden",
}
_PARTS: dict[str, str] = {
    "头发": "hair",
    "长发": "hair",
    "短发": "hair",
    "卷发": "hair",
    "髪": "hair",
    "眼睛": "eyes",
    "目": "eyes",
    "瞳": "eyes",
    "雨衣": "raincoat",
    "レインコート": "raincoat",
    "外套": "coat",
    "コート": "coat",
    "衣服": "clothes",
    "服": "clothes",
    "连衣裙": "dress",
    "裙子": "skirt",
    "ドレス": "dress",
    "夹克": "jacket",
    "毛衣": "sweater",
    "帽子": "hat",
    "围巾": "scarf",
    "マフラー": "scarf",
    "皮毛": "fur",
    "毛": "fur",
    "胡子": "beard",
    "胡须": "beard",
    "白发": "hair",
    "发": "hair",
    "着物": "kimono",
    "ワンピース": "dress",
    "リボン": "ribbon",
    "帽": "hat",
    "衣": "clothes",
    "书包": "backpack",
    "鞋": "shoes",
    "靴": "boots",
    "眼镜": "glasses",
    "メガネ": "glasses",
    "スカーフ": "scarf",
    "セーター": "sweater",
    "シャツ": "shirt",
    "衬衫": "shirt",
    "裙": "skirt",
}
_COLOUR_CLASS = "".join(_COLOURS)
_PART_ALTERNATION = "|".join(sorted(map(re.escape, _PARTS), key=len, reverse=True))
_PART_IS_COLOUR_RE = re.compile(rf"({_PART_ALTERNATION})(?:是|は|が|都是)([{_COLOUR_CLASS}])色")
"""A colour said after its part: "眼睛是蓝色的", "目は緑色に光っていた"."""
_BODY_IS_COLOUR_RE = re.compile(rf"(?:是|は)(?:全身)?([{_COLOUR_CLASS}])色(?:的|だ|です)")
"""A colour said of the whole creature: "旺旺是白色的"."""
GROUP_MARKS = ("おそろい", "二人とも", "两人都", "都穿", "都戴", "一样的")
_FEATURE_RE = re.compile(
    rf"([{_COLOUR_CLASS}])色?(?:い|の|的)?"
    rf"({'|'.join(sorted(map(re.escape, _PARTS), key=len, reverse=True))})"
)
_COLOUR_BEFORE_RE = re.compile(rf"([{_COLOUR_CLASS}])色?(?:的|の|い)?(小)?$")
_NAME_LEAD = r"(?:名叫|叫做|名字叫|名为|叫)"
_NAMING_RE_TEMPLATE = (
    r"(?:给|把)(?:它|他|她)(?:取名|起名|命名)(?:叫做|叫|为)?(?:{names})|(?:{names})と名付け"
)


def is_cjk_creature(word: str) -> bool:
    """Whether a word is a creature noun ("老奶奶", "狐狸"), which names nobody by itself."""
    return word in _CREATURES


_ACTS_RE = re.compile(r"[\u4e00-\u9fff]{0,3}?(?:说|问|喊|答|跑|走|叫|笑|哭|飞|游)")


def acts(text: str, position: int) -> bool:
    """Whether the creature noun ending at `position` does something: "一只狐狸跑来问"."""
    return _ACTS_RE.match(text, position) is not None


def find_noun_phrases(text: str) -> list[NounPhrase]:
    """Creature nouns in CJK text, with a colour or "small" written right before them."""
    phrases: list[NounPhrase] = []
    for m in _CREATURE_RE.finditer(text):
        noun, implied = _CREATURES[m.group()]
        adjectives = list(implied)
        before = _COLOUR_BEFORE_RE.search(text, max(0, m.start() - 4), m.start())
        if before:
            adjectives.insert(0, _COLOURS[before.group(1)])
            if before.group(2):
                adjectives.insert(1, "small")
        phrases.append(NounPhrase(m.start(), m.end(), "", tuple(adjectives), noun, m.group()))
    return phrases


def find_features(text: str) -> list[tuple[int, Feature]]:
    """Coloured parts ("红头发", "黄色的雨衣", "赤い髪", "眼睛是蓝色的") with where they are
    written (where the part is, for the copular kind, so "机器狗的眼睛" finds its owner)."""
    found = [
        (m.start(), make_feature(_PARTS[m.group(2)], [_COLOURS[m.group(1)]]))
        for m in _FEATURE_RE.finditer(text)
    ]
    found += [
        (m.start(), make_feature(_PARTS[m.group(1)], [_COLOURS[m.group(2)]]))
        for m in _PART_IS_COLOUR_RE.finditer(text)
    ]
    return sorted(found, key=lambda f: f[0])


def find_body_colours(text: str) -> list[tuple[int, str]]:
    """ "旺旺是白色的": a colour said of a whole creature."""
    return [(m.start(), _COLOURS[m.group(1)]) for m in _BODY_IS_COLOUR_RE.finditer(text)]


def name_after_phrase(text: str, position: int, names: re.Pattern[str]) -> str | None:
    """ "一只小狗名叫波尔特": the name right after the noun."""
    lead = re.compile(_NAME_LEAD).match(text, position)
    if lead is None:
        return None
    named = names.match(text, lead.end())
    return named.group() if named else None


def name_before_phrase(before: str, names: re.Pattern[str]) -> str | None:
    """ "名叫米娅的害羞女孩", "ミアという女の子": the name in the words just before the noun."""
    for pattern in (
        rf"{_NAME_LEAD}({names.pattern})的[^，。！？,.!?]{{0,8}}$",
        rf"({names.pattern})という[^、。！？]{{0,6}}$",
    ):
        m = re.search(pattern, before)
        if m:
            return m.group(1)
    return None


def naming_links(
    text: str,
    phrases: list[NounPhrase],
    drafts: list[CharacterDraft],
    names: re.Pattern[str],
    links: dict[int, int],
) -> None:
    """ "给它取名叫波尔特": the latest creature before the naming gets the name."""
    pattern = re.compile(_NAMING_RE_TEMPLATE.format(names=names.pattern))
    starts = [p.start for p in phrases]
    for m in pattern.finditer(text):
        named = names.search(m.group())
        if named is None:
            continue
        index = next(i for i, d in enumerate(drafts) if named.group() in d.aliases)
        k = bisect.bisect_left(starts, m.start()) - 1
        while k >= 0 and links.get(k, index) != index:
            k -= 1
        if k >= 0:
            links[k] = index
