"""The offline generator ``sketch``: deterministic pictures, seeded drift, every scene renders."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from storyviz import anatomy
from storyviz.colors import delta_e, rgb_to_lab
from storyviz.errors import BackendError
from storyviz.registry import build
from storyviz.schemas import (
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    PanelSpec,
    RegionPrompt,
    RenderRequest,
)

MIA = CharacterSheet(
    id="mia",
    name="Mia",
    description="a shy girl with red hair and a yellow raincoat",
    attributes=CharacterAttributes(
        hair="long red hair",
        colors={"hair": "red", "outfit": "yellow", "skin": "light", "eyes": "green"},
        accessories=["blue scarf"],
    ),
)
BOLT = CharacterSheet(
    id="bolt",
    name="Bolt",
    description="a lost robot dog",
    attributes=CharacterAttributes(species="robot dog", colors={"fur": "silver", "eyes": "cyan"}),
)
CAST = [
    CastMember(
        character_id="mia", box=(0.08, 0.25, 0.45, 0.95), action="waves", expression="happy"
    ),
    CastMember(character_id="bolt", box=(0.5, 0.55, 0.92, 0.92)),
]


def panel(panel_id: str = "p1", **fields: object) -> PanelSpec:
    spec: dict[str, object] = {
        "id": panel_id,
        "beat": "Mia finds Bolt.",
        "setting": "rainy city street",
        "time_of_day": "evening",
        "weather": "rain",
        "cast": CAST,
    }
    spec.update(fields)
    return PanelSpec.model_validate(spec)


def request(p: PanelSpec | None = None, **fields: object) -> RenderRequest:
    p = p or panel()
    values: dict[str, object] = {
        "target_id": p.id,
        "prompt": p.beat,
        "panel": p,
        "characters": [MIA, BOLT],
        "seed": 7,
    }
    values.update(fields)
    return RenderRequest(**values)  # type: ignore[arg-type]


def pixels(image: Image.Image) -> bytes:
    return image.tobytes()


# --- determinism and size ------------------------------------------------------------------------


def test_the_same_request_gives_identical_pixels_across_instances() -> None:
    first = build("generator", "sketch").render(request()).image
    second = build("generator", "sketch").render(request()).image
    assert pixels(first) == pixels(second)


def test_seed_setting_time_and_weather_each_change_the_picture() -> None:
    gen = build("generator", "sketch")
    base = pixels(gen.render(request()).image)
    variants = [
        request(seed=8),
        request(panel(setting="the park")),
        request(panel(time_of_day="midnight")),
        request(panel(weather="")),
        request(panel("p2")),
    ]
    images = [pixels(gen.render(r).image) for r in variants]
    assert all(image != base for image in images)
    assert len(set(images)) == len(images)


@pytest.mark.parametrize(
    "size", [(512, 512), (640, 384), (384, 640), (333, 517), (96, 64), (7, 300), (1, 1)]
)
def test_image_has_exactly_the_requested_size_and_mode(size: tuple[int, int]) -> None:
    width, height = size
    result = build("generator", "sketch").render(request(width=width, height=height))
    assert result.image.size == size
    assert result.image.mode == "RGB"


def test_provenance_names_the_renderer_seed_and_scene() -> None:
    result = build("generator", "sketch").render(request())
    info = result.info
    assert info["renderer"] == "sketch"
    assert info["seed"] == 7
    assert info["version"] == 1
    assert info["drift"] is None
    assert info["scene"] == {"scenery": "street", "time": "dusk", "weather": "rain"}
    assert result.seconds >= 0


# --- references ----------------------------------------------------------------------------------


def test_reference_shows_one_character_centred_on_plain_paper() -> None:
    gen = build("generator", "sketch")
    ref = RenderRequest(
        kind="reference", target_id="mia", prompt="Mia", characters=[MIA], width=384, height=512
    )
    image = gen.render(ref).image
    assert image.size == (384, 512)
    paper = image.getpixel((2, 2))
    assert paper == image.getpixel((381, 2)) == image.getpixel((2, 509))
    assert sum(paper) / 3 > 220  # a plain light background
    frame = anatomy.figure_frame("human", (0.25, 0.08, 0.75, 0.86), 384 / 512)
    hair = anatomy.part_box("human", "hair", (0.25, 0.08, 0.75, 0.86), 384 / 512)
    assert hair is not None
    assert abs((frame[0] + frame[2]) / 2 - 0.5) < 1e-9
    hx, hy = (hair[0] + hair[2]) / 2 * 384, (hair[1] + hair[3]) / 2 * 512
    assert image.getpixel((int(hx), int(hy))) == (206, 38, 38)  # colors.COLOR_RGB["red"]
    assert gen.render(ref).image.tobytes() == image.tobytes()


def test_reference_picks_the_target_sheet_and_is_never_drifted() -> None:
    gen = build("generator", "sketch?drift=1")
    ref = RenderRequest(kind="reference", target_id="bolt", prompt="", characters=[MIA, BOLT])
    result = gen.render(ref)
    assert result.info["drift"] is None
    clean = build("generator", "sketch").render(ref)
    assert result.image.tobytes() == clean.image.tobytes()


# --- drift ---------------------------------------------------------------------------------------


def first_renders(spec: str, count: int = 60) -> list[dict[str, object] | None]:
    gen = build("generator", spec)
    small = {"width": 64, "height": 64}
    return [gen.render(request(panel(f"p{i}"), **small)).info["drift"] for i in range(count)]


def test_no_drift_by_default_or_at_zero() -> None:
    assert not any(first_renders("sketch", 20))
    assert not any(first_renders("sketch?drift=0", 20))


def test_drift_one_perturbs_every_first_render() -> None:
    drifts = first_renders("sketch?drift=1.0", 20)
    assert all(drifts)
    for drift in drifts:
        assert drift is not None
        assert drift["character_id"] in {"mia", "bolt"}
        assert drift["change"] in {"recolor", "missing"}


def test_drift_chooses_a_seeded_fraction_of_panels() -> None:
    drifts = first_renders("sketch?drift=0.5", 200)
    share = sum(1 for d in drifts if d) / len(drifts)
    assert 0.35 < share < 0.65
    assert drifts == first_renders("sketch?drift=0.5", 200)  # the same panels every time


def test_drift_never_touches_repairs() -> None:
    drifted = build("generator", "sketch?drift=1")
    clean = build("generator", "sketch")
    for version in (2, 3):
        result = drifted.render(request(version=version))
        assert result.info["drift"] is None
        assert result.image.tobytes() == clean.render(request(version=version)).image.tobytes()


def test_a_recolour_is_far_from_the_sheet_colour_and_really_drawn() -> None:
    gen = build("generator", "sketch?drift=1")
    recolours = 0
    for i in range(40):
        p = panel(f"p{i}")
        result = gen.render(request(p))
        drift = result.info["drift"]
        if drift["change"] != "recolor":
            continue
        recolours += 1
        expected, drawn = (
            anatomy.resolve_colour(drift[k], drift["part"]) for k in ("expected", "drawn")
        )
        assert expected is not None and drawn is not None
        assert delta_e(rgb_to_lab(expected), rgb_to_lab(drawn)) >= 45
        member = next(m for m in p.cast if m.character_id == drift["character_id"])
        sheet = MIA if member.character_id == "mia" else BOLT
        box = anatomy.part_box(sheet.attributes.species, drift["part"], member.box)
        assert box is not None
        centre = (int((box[0] + box[2]) / 2 * 512), int((box[1] + box[3]) / 2 * 512))
        assert result.image.getpixel(centre) == drawn
    assert recolours > 10


def test_a_missing_character_is_not_drawn() -> None:
    gen = build("generator", "sketch?drift=1")
    clean = build("generator", "sketch")
    for i in range(40):
        p = panel(f"p{i}")
        drift = gen.render(request(p)).info["drift"]
        if drift["change"] == "missing":
            kept = [m for m in p.cast if m.character_id != drift["character_id"]]
            without = p.model_copy(update={"cast": kept})
            assert (
                gen.render(request(p)).image.tobytes()
                == clean.render(request(without)).image.tobytes()
            )
            return
    pytest.fail("no panel lost a character in 40 drifted renders")


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "sketch?drift=1.5",
        "sketch?drift=-0.1",
        "sketch?drift=lots",
        "sketch?drift=nan",
        "sketch?delay=-1",
        "sketch?delay=soon",
        "sketch?colour=red",
    ],
)
def test_invalid_options_are_refused_with_a_clear_error(text: str) -> None:
    with pytest.raises(BackendError, match="sketch"):
        build("generator", text)


def test_spec_is_the_backend_string() -> None:
    assert build("generator", "sketch?drift=0.25").spec == "sketch?drift=0.25"


def test_delay_simulates_a_slow_backend() -> None:
    gen = build("generator", "sketch?delay=0.05")
    started = time.perf_counter()
    gen.render(request(width=64, height=64))
    assert time.perf_counter() - started >= 0.05


# --- coverage of scenes, species and repair inputs -----------------------------------------------

SETTINGS = {
    "a rainy city street": "street",
    "the town square": "street",
    "the park": "park",
    "a dark forest": "forest",
    "grandma's garden": "park",
    "the beach": "beach",
    "by the sea": "beach",
    "Mia's kitchen": "indoor",
    "a bedroom": "indoor",
    "the classroom": "indoor",
    "a toy shop": "indoor",
    "outer space": "space",
    "a snowy mountain": "mountain",
    "somewhere": "default",
    "": "default",
}
TIMES = {
    "dawn": "dawn",
    "morning": "day",
    "day": "day",
    "noon": "day",
    "afternoon": "day",
    "evening": "dusk",
    "sunset": "dusk",
    "dusk": "dusk",
    "night": "night",
    "midnight": "night",
    "whenever": "day",
}
WEATHERS = {"": "clear", "rain": "rain", "heavy snow": "snow", "fog": "fog", "misty": "fog"}
SPECIES = ["human", "girl", "dog", "cat", "robot dog", "bird", "owl", "robot", "dragon", "alien"]


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_every_setting_renders(setting: str) -> None:
    result = build("generator", "sketch").render(request(panel(setting=setting)))
    assert result.info["scene"]["scenery"] == SETTINGS[setting]


@pytest.mark.parametrize("time_of_day", sorted(TIMES))
def test_every_time_of_day_renders(time_of_day: str) -> None:
    for setting in ("street", "kitchen", "space", "park"):
        p = panel(setting=setting, time_of_day=time_of_day)
        result = build("generator", "sketch").render(request(p))
        assert result.info["scene"]["time"] == TIMES[time_of_day]


@pytest.mark.parametrize("weather", sorted(WEATHERS))
def test_every_weather_renders(weather: str) -> None:
    result = build("generator", "sketch").render(request(panel(weather=weather)))
    assert result.info["scene"]["weather"] == WEATHERS[weather]


def test_night_sky_is_dark_and_day_sky_is_blue() -> None:
    gen = build("generator", "sketch")
    night = gen.render(request(panel(setting="meadow", time_of_day="night", weather=""))).image
    day = gen.render(request(panel(setting="meadow", time_of_day="noon", weather=""))).image
    dark = night.crop((0, 0, 512, 40)).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    blue = day.crop((0, 0, 512, 40)).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert sum(dark) / 3 < 70
    assert blue[2] > blue[0] + 30


@pytest.mark.parametrize("species", SPECIES)
def test_every_species_renders_in_its_sheet_colours(species: str) -> None:
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
                "skin": "tan",
            },
        ),
    )
    box = (0.2, 0.2, 0.8, 0.9)
    p = PanelSpec(id="s", beat="", cast=[CastMember(character_id="x", box=box)])
    image = build("generator", "sketch").render(request(p, characters=[sheet])).image
    for part, colour in anatomy.colour_parts(sheet).items():
        region = anatomy.part_box(species, part, box)
        assert region is not None
        x = int((region[0] + region[2]) / 2 * 512)
        y = int((region[1] + region[3]) / 2 * 512)
        assert image.getpixel((x, y)) == colour.rgb, part


def test_cast_member_without_a_sheet_still_renders() -> None:
    p = panel(cast=[CastMember(character_id="stranger", box=(0.3, 0.3, 0.6, 0.9))])
    result = build("generator", "sketch").render(request(p, characters=[]))
    assert result.image.size == (512, 512)


def test_repair_inputs_it_cannot_use_are_recorded_as_ignored() -> None:
    gen = build("generator", "sketch")
    repair = request(
        version=2,
        emphasis=["red hair"],
        regions=[RegionPrompt(box=(0.1, 0.1, 0.4, 0.9), prompt="Mia", character_id="mia")],
        init_image="panels/p1_v1.png",  # without a mask: a whole-panel redraw
        strength=0.6,
    )
    result = gen.render(repair)
    assert result.info["ignored"] == ["emphasis", "regions", "init_image", "strength"]
    assert result.image.tobytes() == gen.render(request(version=2)).image.tobytes()


def test_a_region_repair_keeps_everything_outside_the_mask(tmp_path: Path) -> None:
    from storyviz.masks import box_mask

    gen = build("generator", "sketch")
    fresh = gen.render(request(version=2)).image
    original = Image.new("RGB", fresh.size, (9, 9, 9))
    original.save(tmp_path / "v1.png")
    box_mask(fresh.size, [(0.0, 0.0, 0.5, 1.0)], feather=0).save(tmp_path / "mask.png")
    repair = request(version=2, init_image="v1.png", mask=str(tmp_path / "mask.png"))
    result = gen.render(repair)
    assert result.info["task"] == "inpaint" and "ignored" not in result.info
    pixels = np.asarray(result.image)
    half = fresh.size[0] // 2
    assert (pixels[:, half + 1 :] == 9).all()  # the original outside the region
    assert np.array_equal(pixels[:, : half - 1], np.asarray(fresh)[:, : half - 1])  # new inside
    with pytest.raises(BackendError, match="cannot read repair input"):
        gen.render(request(version=2, init_image="missing.png", mask="mask.png"))


def test_a_panel_request_without_a_panel_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="no panel"):
        build("generator", "sketch").render(RenderRequest(target_id="p1", prompt=""))
