"""The offline auditor ``offline`` against the sketch renderer, hand-painted images and the shared
anatomy convention."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from storyviz import anatomy
from storyviz.colors import COLOR_RGB, SKIN_RGB, rgb_to_lab, rgb_to_lab_array
from storyviz.errors import BackendError
from storyviz.evaluators.color_measure import median_colour
from storyviz.geometry import pixels_inside
from storyviz.protocols import AuditItem
from storyviz.registry import build
from storyviz.schemas import (
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    PanelSpec,
    RenderRequest,
)

MIA = CharacterSheet(
    id="mia",
    name="Mia",
    description="a shy girl with red hair and a yellow raincoat",
    attributes=CharacterAttributes(
        colors={"hair": "red", "outfit": "yellow", "skin": "light", "eyes": "green"}
    ),
)
BOLT = CharacterSheet(
    id="bolt",
    name="Bolt",
    description="a lost robot dog",
    attributes=CharacterAttributes(species="robot dog", colors={"fur": "silver", "eyes": "cyan"}),
)
MIA_BOX = (0.08, 0.25, 0.45, 0.95)
BOLT_BOX = (0.5, 0.55, 0.92, 0.92)
CAST = [
    CastMember(character_id="mia", box=MIA_BOX, action="waves", expression="happy"),
    CastMember(character_id="bolt", box=BOLT_BOX),
]
SCENES = [
    ("a rainy city street", "evening", "rain"),
    ("the park", "noon", ""),
    ("Mia's kitchen", "night", ""),
    ("the beach", "morning", "fog"),
    ("outer space", "midnight", ""),
    ("a snowy mountain", "dusk", "snow"),
]


def make_panel(panel_id: str = "p1", scene: int = 0, cast: list[CastMember] = CAST) -> PanelSpec:
    setting, time_of_day, weather = SCENES[scene % len(SCENES)]
    return PanelSpec(
        id=panel_id,
        beat="Mia finds Bolt.",
        setting=setting,
        time_of_day=time_of_day,
        weather=weather,
        cast=cast,
    )


def render_and_save(
    tmp_path: Path,
    panel: PanelSpec,
    backend: str = "sketch",
    characters: list[CharacterSheet] | None = None,
    version: int = 1,
    size: tuple[int, int] = (512, 512),
) -> tuple[Path, dict[str, object]]:
    gen = build("generator", backend)
    request = RenderRequest(
        target_id=panel.id,
        version=version,
        prompt=panel.beat,
        panel=panel,
        characters=characters or [MIA, BOLT],
        width=size[0],
        height=size[1],
        seed=11,
    )
    result = gen.render(request)
    path = tmp_path / f"{panel.id}_v{version}.png"
    result.image.save(path)
    return path, result.info


def item(panel: PanelSpec, path: Path, version: int = 1) -> AuditItem:
    return AuditItem(panel=panel, version=version, image_path=path, characters=[MIA, BOLT])


# --- clean renders -------------------------------------------------------------------------------


@pytest.mark.parametrize("scene", range(len(SCENES)))
def test_a_clean_sketch_render_scores_one_with_no_findings(tmp_path: Path, scene: int) -> None:
    panel = make_panel(scene=scene)
    path, _ = render_and_save(tmp_path, panel)
    (audit,) = build("auditor", "offline").audit([item(panel, path)])
    assert audit.findings == []
    assert audit.score == 1.0
    assert audit.character_scores == {"mia": 1.0, "bolt": 1.0}
    assert audit.panel_id == "p1" and audit.version == 1
    assert audit.auditor == "offline"


@pytest.mark.parametrize("size", [(512, 512), (768, 432), (384, 640), (256, 256)])
def test_clean_renders_pass_at_every_panel_shape(tmp_path: Path, size: tuple[int, int]) -> None:
    panel = make_panel()
    path, _ = render_and_save(tmp_path, panel, size=size)
    (audit,) = build("auditor", "offline").audit([item(panel, path)])
    assert audit.score == 1.0, audit.findings


def test_overlapping_figures_do_not_count_as_drift(tmp_path: Path) -> None:
    cast = [
        CastMember(character_id="mia", box=(0.2, 0.2, 0.6, 0.95)),
        CastMember(character_id="bolt", box=(0.35, 0.6, 0.8, 0.95)),  # in front of Mia's legs
    ]
    panel = make_panel(cast=cast)
    path, _ = render_and_save(tmp_path, panel)
    (audit,) = build("auditor", "offline").audit([item(panel, path)])
    assert audit.score == 1.0, audit.findings


@pytest.mark.parametrize("species", ["human", "robot", "cat", "robot dog", "parrot"])
def test_every_species_and_part_reads_back_clean(tmp_path: Path, species: str) -> None:
    sheet = CharacterSheet(
        id="x",
        name="Xan",
        description=species,
        attributes=CharacterAttributes(
            species=species,
            colors={
                "hair": "purple",
                "fur": "orange",
                "outfit": "teal",
                "eyes": "blue",
                "accessory": "pink",
                "skin": "olive",
            },
        ),
    )
    panel = make_panel(cast=[CastMember(character_id="x", box=(0.3, 0.3, 0.7, 0.9))])
    path, _ = render_and_save(tmp_path, panel, characters=[sheet])
    audit_item = AuditItem(panel=panel, version=1, image_path=path, characters=[sheet])
    (audit,) = build("auditor", "offline").audit([audit_item])
    assert audit.score == 1.0, audit.findings


# --- drift ---------------------------------------------------------------------------------------


def test_hair_turned_blue_is_an_attribute_finding(tmp_path: Path) -> None:
    blue_haired = MIA.model_copy(
        update={
            "attributes": MIA.attributes.model_copy(
                update={"colors": {**MIA.attributes.colors, "hair": "blue"}}
            )
        }
    )
    panel = make_panel()
    path, _ = render_and_save(tmp_path, panel, characters=[blue_haired, BOLT])
    (audit,) = build("auditor", "offline").audit([item(panel, path)])
    (finding,) = audit.findings
    assert finding.id == "p1-v1-f1"
    assert finding.kind == "attribute"
    assert finding.character_id == "mia"
    assert finding.attribute == "hair"
    assert finding.expected == "red"
    assert finding.observed == "blue"
    assert finding.severity == "critical"
    assert "hair region median RGB (40, 90, 210) ~ blue" in finding.evidence
    assert "from red" in finding.evidence
    assert finding.suggestion == "restore red hair"
    assert finding.region == pytest.approx(anatomy.part_box("human", "hair", MIA_BOX), abs=1e-4)
    assert finding.auditor == "offline"
    assert audit.character_scores == {"mia": 0.0, "bolt": 1.0}
    assert audit.score == 0.5


def test_an_omitted_character_is_missing(tmp_path: Path) -> None:
    panel = make_panel()
    without_bolt = panel.model_copy(update={"cast": CAST[:1]})
    path, _ = render_and_save(tmp_path, without_bolt)
    (audit,) = build("auditor", "offline").audit([item(panel, path)])
    (finding,) = audit.findings
    assert finding.kind == "missing"
    assert finding.character_id == "bolt"
    assert finding.severity == "critical"
    assert finding.attribute is None
    assert finding.region == BOLT_BOX
    assert "Bolt" in finding.evidence
    assert audit.character_scores == {"mia": 1.0, "bolt": 0.0}
    assert audit.score == 0.5


def test_every_drift_is_caught_and_the_repair_scores_one_again(tmp_path: Path) -> None:
    auditor = build("auditor", "offline")
    caught = {"recolor": 0, "missing": 0}
    for i in range(24):
        panel = make_panel(f"p{i}", scene=i)
        drifted, info = render_and_save(tmp_path, panel, "sketch?drift=1", size=(384, 384))
        repaired, repair_info = render_and_save(
            tmp_path, panel, "sketch?drift=1", version=2, size=(384, 384)
        )
        assert repair_info["drift"] is None
        first, second = auditor.audit([item(panel, drifted), item(panel, repaired, version=2)])
        drift = info["drift"]
        assert isinstance(drift, dict)
        assert first.score < 1.0
        (finding,) = first.findings
        assert finding.character_id == drift["character_id"]
        if drift["change"] == "recolor":
            assert finding.kind == "attribute"
            assert finding.attribute == drift["part"]
            assert finding.expected == drift["expected"]
            assert finding.severity in {"major", "critical"}
        else:
            assert finding.kind == "missing"
        caught[drift["change"]] += 1
        assert second.score == 1.0 and second.findings == []
        assert second.version == 2
    assert caught["recolor"] and caught["missing"]


def test_findings_are_numbered_per_panel_and_version(tmp_path: Path) -> None:
    recoloured = MIA.model_copy(
        update={
            "attributes": MIA.attributes.model_copy(
                update={"colors": {**MIA.attributes.colors, "hair": "blue", "outfit": "purple"}}
            )
        }
    )
    panel = make_panel("p7")
    path, _ = render_and_save(tmp_path, panel, characters=[recoloured, BOLT], version=3)
    (audit,) = build("auditor", "offline").audit([item(panel, path, version=3)])
    assert [f.id for f in audit.findings] == ["p7-v3-f1", "p7-v3-f2"]
    assert [f.attribute for f in audit.findings] == ["hair", "outfit"]


# --- hand-painted images -------------------------------------------------------------------------

WHITE_L = 96.537  # L* of "white" (245, 245, 245): Y = ((245/255 + 0.055) / 1.055) ** 2.4 = 0.91310,
# L = 116 * Y ** (1/3) - 16 = 96.537; a neutral colour has a* = b* = 0, and black (0, 0, 0) has
# L* = 0, so the CIE76 distance from black to "white" is exactly 96.537.


def painted(tmp_path: Path, paint: dict[str, tuple[tuple[int, int, int], float]]) -> Path:
    """A plain grey 400x300 image with anatomy regions of one figure painted by hand.

    `paint` maps part -> (colour, share of the region's rows painted from the top).
    """
    image = Image.new("RGB", (400, 300), (128, 128, 128))
    draw = ImageDraw.Draw(image)
    for part, (colour, share) in paint.items():
        box = anatomy.part_box("human", part, (0.3, 0.1, 0.7, 0.95), 400 / 300)
        assert box is not None
        left, top, right, bottom = pixels_inside(box, 400, 300)
        cut = top + round((bottom - top) * share)
        draw.rectangle([left, top, right - 1, cut - 1], fill=colour)
    path = tmp_path / "hand.png"
    image.save(path)
    return path


def hand_item(path: Path) -> AuditItem:
    sheet = CharacterSheet(
        id="w",
        name="Wren",
        description="",
        attributes=CharacterAttributes(colors={"hair": "white", "outfit": "yellow"}),
    )
    cast = [CastMember(character_id="w", box=(0.3, 0.1, 0.7, 0.95))]
    return AuditItem(
        panel=PanelSpec(id="h", beat="", cast=cast), version=1, image_path=path, characters=[sheet]
    )


def test_black_hair_measures_the_hand_computed_distance_from_white(tmp_path: Path) -> None:
    path = painted(tmp_path, {"hair": ((0, 0, 0), 1.0), "outfit": (COLOR_RGB["yellow"], 1.0)})
    (audit,) = build("auditor", "offline").audit([hand_item(path)])
    (finding,) = audit.findings
    assert finding.attribute == "hair"
    assert finding.observed == "black"
    assert finding.expected == "white"
    assert finding.evidence == (
        f"hair region median RGB (0, 0, 0) ~ black, ΔE {WHITE_L:.1f} from white"
    )
    assert finding.severity == "critical"
    assert audit.score == 0.0


def test_the_median_ignores_a_minority_of_other_pixels(tmp_path: Path) -> None:
    # 70 % pure white (L* = 100) over 30 % black: the median is white, 3.46 from "white".
    path = painted(tmp_path, {"hair": ((255, 255, 255), 0.7), "outfit": (COLOR_RGB["yellow"], 1.0)})
    (audit,) = build("auditor", "offline").audit([hand_item(path)])
    assert audit.findings == []
    assert audit.score == 1.0


def test_lab_conversion_matches_reference_values() -> None:
    lab = rgb_to_lab_array(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [245, 245, 245]]))
    assert lab[0] == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert lab[1] == pytest.approx([0.0, 0.0, 0.0], abs=0.01)
    assert lab[2] == pytest.approx([53.24, 80.09, 67.20], abs=0.02)  # textbook sRGB red
    assert lab[3] == pytest.approx([WHITE_L, 0.0, 0.0], abs=0.01)
    for rgb in list(COLOR_RGB.values()) + list(SKIN_RGB.values()):
        assert rgb_to_lab_array(np.array([rgb]))[0] == pytest.approx(rgb_to_lab(rgb), abs=1e-9)


def test_median_colour_is_per_channel() -> None:
    pixels = np.array([[10, 200, 30]] * 5 + [[0, 0, 0]] * 2, dtype=np.uint8)
    assert median_colour(pixels) == (10, 200, 30)


def test_an_unreadable_image_is_an_artifact_finding(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (audit,) = build("auditor", "offline").audit([item(make_panel(), path)])
    (finding,) = audit.findings
    assert finding.kind == "artifact"
    assert audit.score == 0.0


def test_a_panel_without_cast_scores_one(tmp_path: Path) -> None:
    panel = make_panel(cast=[])
    path, _ = render_and_save(tmp_path, panel)
    (audit,) = build("auditor", "offline").audit([item(panel, path)])
    assert audit.score == 1.0
    assert audit.character_scores == {}


# --- options and speed ---------------------------------------------------------------------------


def test_thresholds_are_tunable(tmp_path: Path) -> None:
    path = painted(tmp_path, {"hair": ((255, 255, 255), 1.0), "outfit": (COLOR_RGB["yellow"], 1.0)})
    assert build("auditor", "offline").audit([hand_item(path)])[0].findings == []
    strict = build("auditor", "offline?minor=2&major=3&critical=50")
    (finding,) = strict.audit([hand_item(path)])[0].findings
    assert finding.severity == "major"  # ΔE 3.46 from "white"


@pytest.mark.parametrize(
    "text",
    [
        "offline?minor=40&major=20",
        "offline?critical=nan",
        "offline?presence=2",
        "offline?minor=zero",
        "offline?threshold=0.8",
    ],
)
def test_invalid_options_are_refused(text: str) -> None:
    with pytest.raises(BackendError, match="offline"):
        build("auditor", text)


# --- the anatomy convention ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("species", "plan"),
    [
        ("human", "biped"),
        ("old wizard", "biped"),
        ("robot", "robot"),
        ("robot dog", "quadruped"),
        ("Kittens", "quadruped"),
        ("barn owl", "bird"),
    ],
)
def test_body_plans(species: str, plan: str) -> None:
    assert anatomy.body_plan(species) == plan


@pytest.mark.parametrize("species", ["human", "robot", "dog", "bird"])
@pytest.mark.parametrize("box", [(0.1, 0.1, 0.4, 0.9), (0.0, 0.5, 1.0, 1.0), (0.2, 0.2, 0.3, 0.25)])
@pytest.mark.parametrize("aspect", [1.0, 16 / 9, 0.6])
def test_part_boxes_lie_inside_the_frame_inside_the_cast_box(
    species: str, box: tuple[float, float, float, float], aspect: float
) -> None:
    frame = anatomy.figure_frame(species, box, aspect)
    eps = 1e-9
    assert box[0] - eps <= frame[0] < frame[2] <= box[2] + eps
    assert box[1] - eps <= frame[1] < frame[3] <= box[3] + eps
    assert frame[3] == pytest.approx(box[3])  # standing on the box's bottom edge
    ratio = (frame[2] - frame[0]) * aspect / (frame[3] - frame[1])
    assert ratio == pytest.approx(anatomy.NATURAL_ASPECT[anatomy.body_plan(species)])
    for part in anatomy.COLOUR_PARTS:
        region = anatomy.part_box(species, part, box, aspect)
        if part not in anatomy.parts(species):
            assert region is None
            continue
        assert region is not None
        assert frame[0] <= region[0] < region[2] <= frame[2]
        assert frame[1] <= region[1] < region[3] <= frame[3]


def test_colour_words_resolve_tolerantly() -> None:
    assert anatomy.resolve_colour("light blue") == COLOR_RGB["blue"]
    assert anatomy.resolve_colour("Dark-Red") == COLOR_RGB["red"]
    assert anatomy.resolve_colour("olive", "skin") == SKIN_RGB["olive"]
    assert anatomy.resolve_colour("olive", "outfit") == COLOR_RGB["olive"]
    assert anatomy.resolve_colour("rainbow") is None
    sheet = CharacterSheet(
        id="d",
        name="Rex",
        description="",
        attributes=CharacterAttributes(
            species="dog", colors={"hair": "red", "fur": "brown", "outfit": "plaid"}
        ),
    )
    assert list(anatomy.colour_parts(sheet)) == ["fur"]  # no hair box on a dog; plaid is no colour


def test_pixels_inside_keeps_inner_pixels_and_is_never_empty() -> None:
    assert pixels_inside((0.1, 0.1, 0.5, 0.5), 100, 100) == (10, 10, 50, 50)
    assert pixels_inside((0.105, 0.1, 0.5, 0.499), 100, 100) == (11, 10, 50, 49)
    left, top, right, bottom = pixels_inside((0.501, 0.501, 0.502, 0.502), 100, 100)
    assert right - left == 1 and bottom - top == 1


# --- a seeded sweep over planner-like layouts ----------------------------------------------------


def test_tidy_layouts_audit_clean_and_every_drift_is_flagged(tmp_path: Path) -> None:
    """Side-by-side cast boxes, random colours, scenes and panel shapes (seeded, so stable).

    Figures stay big enough to judge (about 100 px or more); tiny ones are a documented limit.
    """
    rng = random.Random(5)
    words, skins = list(COLOR_RGB), list(SKIN_RGB)
    auditor = build("auditor", "offline")
    for trial in range(10):
        sheets, cast = [], []
        edges = [0.0, rng.uniform(0.3, 0.37), rng.uniform(0.63, 0.7), 1.0]
        for k, species in enumerate(rng.sample(["girl", "robot", "dog", "cat", "owl", "man"], 3)):
            colours = {"outfit": rng.choice(words), "eyes": rng.choice(words)}
            if anatomy.body_plan(species) == "biped":
                colours |= {"hair": rng.choice(words), "skin": rng.choice(skins)}
            else:
                colours["fur"] = rng.choice(words)
            sheets.append(
                CharacterSheet(
                    id=f"c{k}",
                    name=f"C{k}",
                    description="",
                    attributes=CharacterAttributes(species=species, colors=colours),
                )
            )
            tall = anatomy.NATURAL_ASPECT[anatomy.body_plan(species)] < 1
            top = rng.uniform(0.2, 0.4) if tall else rng.uniform(0.55, 0.7)
            cast.append(
                CastMember(
                    character_id=f"c{k}", box=(edges[k] + 0.01, top, edges[k + 1] - 0.01, 0.94)
                )
            )
        panel = make_panel(f"t{trial}", scene=trial, cast=cast)
        size = rng.choice([(384, 384), (480, 288), (288, 480)])
        clean, _ = render_and_save(tmp_path, panel, characters=sheets, size=size)
        drifted, info = render_and_save(
            tmp_path, panel, "sketch?drift=1", characters=sheets, version=9, size=size
        )
        items = [
            AuditItem(panel=panel, version=1, image_path=clean, characters=sheets),
            AuditItem(panel=panel, version=9, image_path=drifted, characters=sheets),
        ]
        clean_audit, drifted_audit = auditor.audit(items)
        assert clean_audit.findings == [], (trial, clean_audit.findings)
        # version 9 is a repair, so it is clean too; drift shows on first renders only
        assert info["drift"] is None and drifted_audit.score == 1.0
        first, first_info = render_and_save(
            tmp_path, panel, "sketch?drift=1", characters=sheets, size=size
        )
        (first_audit,) = auditor.audit(
            [AuditItem(panel=panel, version=1, image_path=first, characters=sheets)]
        )
        drift = first_info["drift"]
        assert isinstance(drift, dict)
        flagged = {f.character_id for f in first_audit.findings}
        assert flagged == {drift["character_id"]}, (trial, drift, first_audit.findings)
