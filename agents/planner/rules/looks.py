"""What a character is and looks like, read from the story's own words.

"A shy girl ... with red hair and a yellow raincoat" becomes species human, age child, hair
"red hair", outfit "yellow raincoat", colours {hair: red, outfit: yellow}. Colour words come from
storyviz.colors, so what the planner writes is exactly what the sketch renderer paints and the
colour auditor measures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storyviz.agents.planner.rules.text import FUNCTION_WORDS, WORD_RE, vocabulary, wordset
from storyviz.colors import COLOR_RGB, SKIN_RGB
from storyviz.schemas import CharacterAttributes


@dataclass(frozen=True)
class Creature:
    """What a noun says about whoever it names: "girl" is a human child, "puppy" a young dog."""

    species: str
    age: str | None = None
    gender: str | None = None  # "f", "m" or None when the noun does not say


def _people(table: str) -> dict[str, Creature]:
    """Parse "word age gender; ..." rows ("-" for unknown) into human creatures."""
    entries: dict[str, Creature] = {}
    for row in table.split(";"):
        if not row.strip():
            continue
        word, age, gender = row.split()
        entries[word] = Creature(
            "human", None if age == "-" else age, None if gender == "-" else gender
        )
    return entries


def _beings(table: str) -> dict[str, Creature]:
    """Parse "word[=species][:age]" items into non-human creatures."""
    entries: dict[str, Creature] = {}
    for item in table.split():
        word, _, age = item.partition(":")
        word, _, species = word.partition("=")
        entries[word] = Creature(species or word, age or None)
    return entries


CREATURES: dict[str, Creature] = {
    **_people(
        """girl child f; boy child m; kid child -; child child -; baby baby -; toddler baby -;
        schoolgirl child f; schoolboy child m; teenager teen -; teen teen -; student - -;
        man adult m; woman adult f; lady adult f; gentleman adult m; guy adult m;
        mother adult f; mom adult f; mum adult f; mommy adult f; mama adult f;
        father adult m; dad adult m; daddy adult m; papa adult m;
        grandmother elderly f; grandma elderly f; granny elderly f;
        grandfather elderly m; grandpa elderly m; sister - f; brother - m; daughter - f;
        son - m; aunt adult f; uncle adult m; wife adult f; husband adult m;
        teacher adult -; king adult m; queen adult f; prince - m; princess - f;
        knight adult -; wizard adult m; witch adult f; sorcerer adult m; sorceress adult f;
        pirate adult -; sailor adult -; captain adult -; soldier adult -; farmer adult -;
        fisherman adult m; doctor adult -; nurse adult -; detective adult -; chef adult -;
        baker adult -; shopkeeper adult -; neighbor - -; neighbour - -; stranger adult -;
        traveler adult -; traveller adult -; astronaut adult -; scientist adult -;
        explorer adult -; hunter adult -; thief adult -; guard adult -; officer adult -;
        policeman adult m; policewoman adult f; mayor adult -; monk adult m; nun adult f;
        priest adult m; musician adult -; artist adult -; painter adult -; poet adult -;
        librarian adult -; postman adult m; mailman adult m; waiter adult m;
        waitress adult f; girlfriend - f; boyfriend - m; ferryman adult m; fishmonger adult -;
        customer adult -; cook adult -; butcher adult -; shepherd adult -; boatman adult m;
        driver adult -; clerk adult -; janitor adult -; gardener adult -; porter adult -;
        nephew - m; niece - f; judge adult -;
        professor adult -; admiral adult -; coach adult -; sergeant adult -; inspector adult -;
        ranger adult -; sheriff adult -; colonel adult -; granddaughter child f;
        grandson child m; cousin - -"""
    ),
    **_beings(
        """dog puppy=dog:young pup=dog:young hound=dog cat kitten=cat:young kitty=cat bird
        parrot owl crow raven pigeon sparrow robin eagle hawk swan fox wolf bear rabbit
        bunny=rabbit hare mouse rat hamster squirrel frog toad turtle tortoise fish goldfish
        lion tiger leopard elephant monkey penguin duck duckling=duck:young goose chicken hen
        rooster goat cow pig sheep lamb=sheep:young deer horse pony donkey unicorn dragon
        dinosaur snake lizard hedgehog raccoon panda koala giraffe zebra whale dolphin shark
        octopus crab butterfly bee otter badger tomcat=cat robot android=robot droid=robot
        cyborg=robot
        mermaid fairy elf dwarf giant troll goblin ghost alien monster vampire zombie snowman"""
    ),
}
"""Nouns that name a character, with what each says about species, age and gender."""

ROBOTIC_WORDS = wordset("robot robotic mechanical clockwork metal cyber")
CLOTHED_SPECIES = wordset(
    "human mermaid fairy elf dwarf giant troll goblin ghost alien vampire zombie"
)
"""Species drawn wearing clothes; every other species' body colour is its "fur"."""

_AGE_WORDS = {
    "old": "elderly",
    "elderly": "elderly",
    "aged": "elderly",
    "ancient": "elderly",
    "young": "young",
    "teenage": "teen",
    "baby": "young",
    "newborn": "baby",
}

Part = str  # one of hair, eyes, skin, fur, outfit, accessory

PART_WORDS: dict[str, Part] = {
    **dict.fromkeys(
        vocabulary(
            "hair curls braids braid ponytail ponytails pigtails bun locks afro bangs fringe "
            "mohawk dreadlocks beard moustache mustache"
        ),
        "hair",
    ),
    **dict.fromkeys(vocabulary("eyes eye"), "eyes"),
    **dict.fromkeys(vocabulary("skin complexion"), "skin"),
    **dict.fromkeys(vocabulary("fur feathers scales plumage mane wool shell body plating"), "fur"),
    **dict.fromkeys(
        vocabulary(
            "raincoat coat jacket dress gown shirt t-shirt tshirt blouse sweater jumper hoodie "
            "cardigan uniform suit tuxedo robe robes cloak cape kimono overalls dungarees skirt "
            "trousers pants jeans shorts armor armour apron vest tunic pajamas pyjamas outfit "
            "clothes costume spacesuit parka poncho leggings hood overcoat blazer smock sundress "
            "jumpsuit waistcoat frock pinafore sari toga habit"
        ),
        "outfit",
    ),
    **dict.fromkeys(
        vocabulary(
            "hat cap beanie scarf glasses spectacles sunglasses goggles backpack rucksack bag "
            "satchel umbrella collar bow ribbon necklace bracelet boots shoes sneakers gloves "
            "mittens watch helmet crown tiara sword staff wand badge earrings headphones mask "
            "bandana headband belt tie bowtie cane basket lantern medal locket amulet antenna "
            "antennae wings shawl headscarf beret bonnet sash"
        ),
        "accessory",
    ),
}
"""Nouns for the parts a description can colour, mapped to the colour part they feed."""

HAIR_COLOURS = wordset("blonde blond auburn ginger chestnut brunette")
_COLOUR_ALIASES = {
    "brunette": "brown",
    "silvery": "silver",
    "reddish": "red",
    "bluish": "blue",
    "greenish": "green",
    "greyish": "grey",
    "grayish": "gray",
    "golden-haired": "golden",
}
_SHADES: dict[str, dict[str, str]] = {
    "hair": {"dark": "black", "fair": "blonde", "light": "blonde", "white": "white"},
    "eyes": {"dark": "brown"},
}
_COMPOUND_PARTS = {
    "haired": ("hair", "hair"),
    "eyed": ("eyes", "eyes"),
    "bearded": ("hair", "beard"),
    "skinned": ("skin", "skin"),
    "furred": ("fur", "fur"),
    "feathered": ("fur", "feathers"),
}
_DETERMINERS = wordset("a an the his her its their my our your one some")
_ITEM_SPLIT_RE = re.compile(r"\s*[,、，]\s*|\s+and\s+|\s+&\s+|\s+plus\s+|\s*和\s*")
_PAIR_OF_RE = re.compile(r"\b(?:a\s+)?pairs?\s+of\s+", re.IGNORECASE)

NP_DETERMINERS = "a an the my your his her its our their one this that another"
_NOUN_ALTERNATION = "|".join(sorted(CREATURES, key=len, reverse=True))
_FUNCTION_ALTERNATION = "|".join(sorted(FUNCTION_WORDS, key=len, reverse=True))
ADJECTIVE_RUN = rf"(?:(?!(?:{_FUNCTION_ALTERNATION})\b)[^\W\d_]+(?:-[^\W\d_]+)*,?\s+)"
"""One adjective-like word (not a function word) and the space after it."""

NOUN_PHRASE_RE = re.compile(
    rf"(?<![\w-])(?P<det>{'|'.join(NP_DETERMINERS.split())})\s+"
    rf"(?P<adjs>{ADJECTIVE_RUN}{{0,4}}?)(?P<noun>{_NOUN_ALTERNATION})(?![\w-])"
    # "robot dog", "baby dragon": the last creature noun is the head, the first an adjective.
    rf"(?!\s+(?:{_NOUN_ALTERNATION})(?![\w-]))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Feature:
    """One described part: "a yellow raincoat" is Feature("outfit", "raincoat", "yellow raincoat",
    "yellow")."""

    part: Part
    noun: str
    phrase: str
    color: str | None


@dataclass(frozen=True)
class NounPhrase:
    """A creature noun with its determiner and adjectives, where it stands in the story."""

    start: int
    end: int
    determiner: str
    adjectives: tuple[str, ...]
    noun: str
    surface: str = ""
    """The words as written, kept for scripts without spaces (CJK phrases have no determiner)."""

    @property
    def robotic(self) -> bool:
        return any(word in ROBOTIC_WORDS for word in self.adjectives) and self.noun != "robot"

    @property
    def creature(self) -> Creature:
        return CREATURES[self.noun]

    @property
    def species(self) -> str:
        species = self.creature.species
        if not self.robotic:
            return species
        return "robot" if species in CLOTHED_SPECIES or species == "robot" else f"robot {species}"

    @property
    def key(self) -> str:
        """What two mentions must share to be the same unnamed character ("robot dog", "girl")."""
        return self.noun if self.species == "human" else self.species

    @property
    def label(self) -> str:
        """The noun as a description says it: "robot dog", "girl"."""
        return f"robot {self.noun}" if self.robotic else self.noun

    @property
    def age_word(self) -> str | None:
        return next((w for w in self.adjectives if w in _AGE_WORDS), None)

    @property
    def color(self) -> str | None:
        return next((c for c in map(colour_word, self.adjectives) if c is not None), None)


_POSSESSED_RE = re.compile(
    rf"(?<=[\w]['’]s\s)(?P<adjs>{ADJECTIVE_RUN}{{0,4}}?)(?P<noun>{_NOUN_ALTERNATION})(?![\w-])"
    rf"(?!\s+(?:{_NOUN_ALTERNATION})(?![\w-]))",
    re.IGNORECASE,
)


def find_noun_phrases(text: str) -> list[NounPhrase]:
    """Every "determiner + adjectives + creature noun" in the (narration-only) text, and every
    possessed one ("the baker's cat", read as "the cat")."""
    phrases: list[NounPhrase] = []
    for m in _POSSESSED_RE.finditer(text):
        adjectives = tuple(w.lower() for w in WORD_RE.findall(m.group("adjs")))
        phrases.append(NounPhrase(m.start(), m.end(), "the", adjectives, m.group("noun").lower()))
    for m in NOUN_PHRASE_RE.finditer(text):
        adjectives = tuple(w.lower() for w in WORD_RE.findall(m.group("adjs")))
        phrases.append(
            NounPhrase(
                m.start(), m.end(), m.group("det").lower(), adjectives, m.group("noun").lower()
            )
        )
    return sorted(phrases, key=lambda p: p.start)


def colour_word(word: str, part: Part = "") -> str | None:
    """The storyviz.colors word a story word names, if any ("silvery" -> silver)."""
    lower = word.lower()
    lower = _COLOUR_ALIASES.get(lower, lower)
    if part in _SHADES and lower in _SHADES[part]:
        return _SHADES[part][lower]
    if part == "skin" and lower in SKIN_RGB:
        return lower
    if lower in COLOR_RGB:
        return lower
    if "-" in lower:
        return next((c for c in (colour_word(p, part) for p in lower.split("-")) if c), None)
    return None


def compound_features(adjectives: tuple[str, ...] | list[str]) -> list[Feature]:
    """Features folded into one adjective: "red-haired", "blue-eyed", "grey-bearded"."""
    features: list[Feature] = []
    for word in adjectives:
        head, _, tail = word.rpartition("-")
        if tail in _COMPOUND_PARTS and head:
            part, noun = _COMPOUND_PARTS[tail]
            colour = colour_word(head, part)
            features.append(Feature(part, noun, f"{head.replace('-', ' ')} {noun}", colour))
    return features


def parse_features(clause: str) -> list[Feature]:
    """Features listed in a clause like "red hair and a yellow raincoat, walks home": items are
    read until the first one that is not a described part."""
    features: list[Feature] = []
    carried: list[str] = []
    for item in _ITEM_SPLIT_RE.split(_PAIR_OF_RE.sub("", clause)):
        words = [w.lower() for w in WORD_RE.findall(item)]
        if not words:
            continue
        at = next((i for i, w in enumerate(words) if w in PART_WORDS), None)
        while at is not None and at + 1 < len(words) and words[at + 1] in PART_WORDS:
            at += 1  # "a wool sweater", "a fur hat": the last part word is the garment
        if at is None:
            if all(colour_word(w) is not None or w in ("light", "dark", "bright") for w in words):
                carried.extend(words)  # "brown" in "brown and white fur"
                continue
            break
        modifiers = words[:at]
        while modifiers and modifiers[0] in _DETERMINERS:
            modifiers = modifiers[1:]
        if len(modifiers) > 4 or any(w in FUNCTION_WORDS for w in modifiers):
            break
        modifiers = carried + modifiers
        carried = []
        features.append(make_feature(words[at], modifiers))
    return features


def make_feature(noun: str, modifiers: list[str]) -> Feature:
    part = PART_WORDS[noun]
    colour = next((c for c in (colour_word(w, part) for w in modifiers) if c), None)
    return Feature(part, noun, " ".join([*modifiers, noun]), colour)


@dataclass
class Looks:
    """Everything the story says about one character's appearance, gathered from its mentions.

    The first statement about a part wins; species and age come from the first creature noun.
    """

    noun: str | None = None
    species: str = "human"
    age: str | None = None
    gender: str | None = None
    traits: list[str] = field(default_factory=list)
    body_color: str | None = None
    features: list[Feature] = field(default_factory=list)

    def add_noun_phrase(self, phrase: NounPhrase) -> None:
        if self.noun is None:
            self.noun, self.species = phrase.label, phrase.species
        creature = phrase.creature
        age_word = phrase.age_word
        if self.age is None:
            if age_word is not None:
                age = _AGE_WORDS[age_word]
                self.age = "old" if age == "elderly" and phrase.species != "human" else age
            else:
                self.age = creature.age
        if self.gender is None:
            self.gender = creature.gender
        if self.body_color is None:
            self.body_color = phrase.color
        for word in phrase.adjectives:
            plain = word.rstrip(",")
            if (
                plain not in self.traits
                and colour_word(plain) is None
                and plain not in ROBOTIC_WORDS
                and not any(plain.endswith("-" + tail) for tail in _COMPOUND_PARTS)
                and len(self.traits) < 3
            ):
                self.traits.append(plain)
        self.features.extend(compound_features(phrase.adjectives))

    def add_features(self, features: list[Feature]) -> None:
        self.features.extend(features)

    @property
    def clothed(self) -> bool:
        return self.species in CLOTHED_SPECIES

    def attributes(self) -> CharacterAttributes:
        hair: list[str] = []
        outfit: list[str] = []
        accessories: list[str] = []
        eyes: str | None = None
        skin: str | None = None
        colors: dict[str, str] = {}
        for feature in self.features:
            part = feature.part
            if feature.noun == "coat" and not self.clothed:
                part = "fur"
            if part == "hair" and len(hair) < 2 and feature.phrase not in hair:
                hair.append(feature.phrase)
            elif part == "eyes" and eyes is None:
                eyes = feature.phrase
            elif part in ("skin", "fur") and skin is None:
                skin = feature.phrase
            elif part == "outfit" and len(outfit) < 2 and feature.phrase not in outfit:
                outfit.append(feature.phrase)
            elif part == "accessory" and len(accessories) < 4 and feature.phrase not in accessories:
                accessories.append(feature.phrase)
            if feature.color is not None:
                colors.setdefault(part, feature.color)
        if self.body_color is not None:
            if not self.clothed:
                colors.setdefault("fur", self.body_color)
                body = "body" if "robot" in self.species else "fur"
                skin = skin or f"{self.body_color} {body}"
            elif self.body_color in HAIR_COLOURS:
                colors.setdefault("hair", self.body_color)
                hair = hair or [f"{self.body_color} hair"]
            else:
                colors.setdefault("outfit", self.body_color)
                outfit = outfit or [f"{self.body_color} clothes"]
        return CharacterAttributes(
            species=self.species,
            age=self.age,
            hair=" and ".join(hair) or None,
            eyes=eyes,
            skin=skin,
            outfit=" and ".join(outfit) or None,
            accessories=accessories,
            colors=colors,
        )


def describe(looks: Looks, attributes: CharacterAttributes) -> str:
    """A readable visual description: "a shy girl with red hair, wearing a yellow raincoat"."""
    noun = looks.noun or ("person" if looks.clothed else attributes.species)
    core = list(looks.traits[:2])
    if not looks.clothed and looks.body_color:
        core.append(looks.body_color)
    core.append(noun)
    text = f"{_article(core[0])} {' '.join(core)}"
    hair = [
        h if h.endswith(("hair", "s")) else _with_article(h)
        for h in (attributes.hair or "").split(" and ")
        if h
    ]
    with_parts = [*hair, *([attributes.eyes] if attributes.eyes else [])]
    if attributes.skin and (looks.clothed or not looks.body_color):
        with_parts.append(attributes.skin)
    if with_parts:
        text += " with " + _join_and(with_parts)
    if attributes.outfit:
        text += ", wearing " + _join_and(
            [_with_article(p) for p in attributes.outfit.split(" and ")]
        )
    if attributes.accessories:
        text += ", with " + _join_and([_with_article(p) for p in attributes.accessories])
    return text


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _with_article(phrase: str) -> str:
    plural = phrase.endswith("s") and not phrase.endswith(("ss", "us"))
    return phrase if plural or phrase.endswith("clothes") else f"{_article(phrase)} {phrase}"


def _join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
