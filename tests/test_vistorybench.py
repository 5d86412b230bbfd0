"""ViStoryBench interop: a story folder in the benchmark's format (written here) mapped to a
plan, rendered end to end with the offline backends without planning, and exported in the
layout the benchmark's scripts read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_one_line_error, last_json, storyviz
from PIL import Image

from storyviz.agents.runner import start_run
from storyviz.config import load_settings
from storyviz.errors import InputError
from storyviz.schemas import StoryRequest
from storyviz.vistorybench import load_story, seeded_run, shot_type
from storyviz.vistorybench_export import export_vistorybench


def _t(en: str, ch: str) -> dict[str, str]:
    return {"en": en, "ch": ch}


def write_story(folder: Path, **changes: Any) -> Path:
    """ViStoryBench story 01: two characters with reference images, three shots."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, colour in (("Jack", (200, 40, 40)), ("Old Lily", (40, 40, 200))):
        (folder / "image" / key).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 96), colour).save(folder / "image" / key / "00.jpg")
        Image.new("RGB", (64, 96), (0, 0, 0)).save(folder / "image" / key / "01.jpg")
    story: dict[str, Any] = {
        "Story_type": _t("Children's Picture Books", "儿童绘本"),
        "Characters": {
            "Jack": {
                "tag": "realistic_human",
                "name_en": "Jack",
                "name_ch": "杰克",
                "prompt_en": "a boy in a red shirt",
                "prompt_ch": "穿红衬衫的男孩",
                "num_of_appearances": 3,
            },
            "Old Lily": {
                "tag": "non_human",
                "name_en": "Old Lily",
                "name_ch": "老莉莉",
                "prompt_en": "an old grey cat",
                "prompt_ch": "一只灰色老猫",
                "num_of_appearances": 1,
            },
        },  # fmt: skip
        "Shots": [
            _shot(1, "Jack leaves home.", "Wide shot, eye level", ["Jack"]),
            _shot(2, "Jack meets Old Lily.", "Close-up", ["Jack", "Old Lily"]),
            _shot(3, "Jack waves goodbye.", "Medium shot from a low angle", ["Jack", "Nobody"]),
        ],
    }
    story.update(changes)
    path = folder / "story.json"
    path.write_text(json.dumps(story, ensure_ascii=False), encoding="utf-8")
    return path


def _shot(index: int, plot: str, camera: str, who: list[str]) -> dict[str, Any]:
    return {
        "index": index,
        "Plot Correspondence": _t(plot, f"情节{index}"),
        "Setting Description": _t("a quiet village street", "安静的村庄街道"),
        "Shot Perspective Design": _t(camera, "镜头"),
        "Characters Appearing": {"en": who, "ch": who},
        "Static Shot Description": _t(f"{plot} Drawn plainly.", f"画面{index}"),
    }


def test_a_story_maps_to_a_plan_with_references(tmp_path: Path) -> None:
    path = write_story(tmp_path / "01")
    story = load_story(path)
    plan = story.plan
    assert plan.title == "01: Children's Picture Books" and plan.language == "en"
    assert [(c.id, c.name, c.attributes.species) for c in plan.characters] == [
        ("jack", "Jack", "human"), ("old-lily", "Old Lily", "creature")
    ]  # fmt: skip
    assert story.references == {
        "jack": path.parent / "image" / "Jack" / "00.jpg",
        "old-lily": path.parent / "image" / "Old Lily" / "00.jpg",
    }
    assert [p.id for p in plan.panels] == ["p01", "p02", "p03"]
    first, second, third = plan.panels
    assert first.beat == "Jack leaves home." and first.setting == "a quiet village street"
    assert first.scene == "Jack leaves home. Drawn plainly."
    assert [p.shot for p in plan.panels] == ["wide", "close-up", "low-angle"]
    assert [m.character_id for m in second.cast] == ["jack", "old-lily"]
    assert second.cast[0].box[2] <= second.cast[1].box[0]  # side by side, in reading order
    assert [m.character_id for m in third.cast] == ["jack"]
    assert story.notes == ["shot 3 names 'Nobody', which the story's Characters do not define"]
    assert [pid for page in plan.pages for pid in page.panel_ids] == ["p01", "p02", "p03"]
    assert "Jack meets Old Lily." in story.story


def test_chinese_text_is_read_with_lang_ch(tmp_path: Path) -> None:
    plan = load_story(write_story(tmp_path / "01"), "ch").plan
    assert plan.language == "zh" and plan.characters[0].name == "杰克"
    assert plan.panels[0].beat == "情节1" and plan.title == "01: 儿童绘本"


@pytest.mark.parametrize(
    ("text", "shot"),
    [("Extreme close-up", "close-up"), ("Over the shoulder", "over-the-shoulder"),
     ("Bird's-eye view", "establishing"), ("全景", "wide"), ("tilted", "medium")],
)  # fmt: skip
def test_shot_types(text: str, shot: str) -> None:
    assert shot_type(text) == shot


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"Shots": []}, "'Shots' must be a non-empty list"),
        ({"Characters": []}, "'Characters' must be a non-empty object"),
        ({"Shots": [{"index": 7, "Plot Correspondence": _t("a", "b")}]},
         "shot 7 lacks 'Setting Description'"),
    ],
)  # fmt: skip
def test_bad_stories_are_one_line_errors(
    tmp_path: Path, changes: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InputError) as error:
        load_story(write_story(tmp_path / "01", **changes))
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_not_json_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "story.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_story(broken)
    with pytest.raises(InputError, match="no ViStoryBench story at"):
        load_story(tmp_path / "missing" / "story.json")
    with pytest.raises(InputError, match="--lang must be en or ch"):
        load_story(broken, "fr")


def test_renders_end_to_end_without_planning_and_exports(tmp_path: Path) -> None:
    settings = load_settings(runs_dir=tmp_path / "runs", max_rounds=0)
    text, seed, _ = seeded_run(write_story(tmp_path / "01"), "en", settings)
    outcome = start_run(settings, StoryRequest(story=text), seed=seed)
    assert outcome.status == "completed" and outcome.panels == 3
    run_dir = outcome.run_dir
    plan = json.loads((run_dir / "plan.json").read_text())
    assert [p["id"] for p in plan["panels"]] == ["p01", "p02", "p03"]
    with Image.open(run_dir / "references" / "jack.png") as reference:
        assert reference.getpixel((10, 10)) == pytest.approx((200, 40, 40), abs=6)
    assert plan["panels"][0]["scene"] == "Jack leaves home. Drawn plainly."  # not re-planned
    written = export_vistorybench(run_dir, tmp_path / "out")
    stamp = outcome.run_id[:15]
    folder = tmp_path / "out" / "storyviz" / "base" / "en" / stamp / "01" / "shots"
    flat = tmp_path / "out" / "image_outputs"
    assert written == [
        path
        for n in (1, 2, 3)
        for path in (folder / f"shot_{n:02d}.png", flat / f"shot_{n:02d}.png")
    ]
    found = read_outputs(tmp_path / "out", "storyviz")
    assert found == {
        "01": {1: folder / "shot_01.png", 2: folder / "shot_02.png", 3: folder / "shot_03.png"}
    }
    with Image.open(written[0]) as shot, Image.open(written[1]) as flat_shot:
        assert shot.format == "PNG" and flat_shot.format == "PNG"
        assert flat_shot.size == shot.size
    jpg = export_vistorybench(
        run_dir, tmp_path / "jpg", image_format="jpg", story_id="07", method="mine", mode="sd15"
    )
    assert read_outputs(tmp_path / "jpg", "mine")["07"][1] == jpg[0]
    with Image.open(jpg[0]) as shot:
        assert shot.format == "JPEG"
    with pytest.raises(InputError, match="jpg or png"):
        export_vistorybench(run_dir, tmp_path / "x", image_format="gif")
    with pytest.raises(InputError, match="must be one folder name"):
        export_vistorybench(run_dir, tmp_path / "x", method="../up")


def test_shots_keep_their_story_indices_through_the_export(tmp_path: Path) -> None:
    """The benchmark pairs an image with story.json's shot ``index`` (its file name's number):
    indices that are not 1..N survive as panel ids and file numbers."""
    path = write_story(tmp_path / "12")
    story = json.loads(path.read_text())
    for shot, index in zip(story["Shots"], (0, 4, 9), strict=True):
        shot["index"] = index
    path.write_text(json.dumps(story), encoding="utf-8")
    assert [p.id for p in load_story(path).plan.panels] == ["p00", "p04", "p09"]
    settings = load_settings(runs_dir=tmp_path / "runs", max_rounds=0)
    text, seed, _ = seeded_run(path, "en", settings)
    outcome = start_run(settings, StoryRequest(story=text), seed=seed)
    export_vistorybench(outcome.run_dir, tmp_path / "out")
    assert sorted(read_outputs(tmp_path / "out", "storyviz")["12"]) == [0, 4, 9]


def test_a_run_that_is_not_a_numbered_story_is_refused(tmp_path: Path) -> None:
    settings = load_settings(runs_dir=tmp_path / "runs", max_rounds=0)
    outcome = start_run(settings, StoryRequest(story="Mia walks home in the rain.", panels=1))
    with pytest.raises(InputError, match="not a numbered ViStoryBench story"):
        export_vistorybench(outcome.run_dir, tmp_path / "out")
    written = export_vistorybench(outcome.run_dir, tmp_path / "out", story_id="03")
    assert "03" in read_outputs(tmp_path / "out", "storyviz")
    assert written


def read_outputs(root: Path, method: str) -> dict[str, dict[int, Path]]:
    """Written to the benchmark loader's rules (read_outputs.py, mode-first layout):
    ``<method>/<mode>/<language>/<timestamp>/<story_id>/shots/*``, story folders parsed as
    integers (anything else is an error there), timestamps YYYYMMDD-HHMMSS, the shot number the
    last ``_`` field of the file name, latest timestamp kept per story."""
    import re

    stamp = re.compile(r"^\d{8}[_-]\d{6}$")
    found: dict[str, dict[int, Path]] = {}
    for mode in sorted(d for d in (root / method).iterdir() if d.is_dir()):
        for language in sorted(d for d in mode.iterdir() if d.is_dir()):
            for timestamp in sorted(d for d in language.iterdir() if d.is_dir()):
                assert stamp.match(timestamp.name), timestamp.name
                for story in sorted(timestamp.iterdir(), key=lambda d: int(d.name)):
                    shots = story / "shots"
                    base = shots if shots.is_dir() else story
                    images = {
                        int(f.name.split("_")[-1].split(".")[0]): f
                        for f in base.iterdir()
                        if f.suffix.lower() in {".png", ".jpg", ".jpeg"}
                    }
                    found[story.name] = images
    return found


@pytest.mark.slow
def test_the_cli_runs_a_vistorybench_story(tmp_path: Path) -> None:
    story = write_story(tmp_path / "01")
    runs = str(tmp_path / "runs")
    proc = storyviz("run", "--vistorybench", str(story), "--runs-dir", runs, "--json", "-q")
    result = last_json(proc)
    assert result["status"] == "completed" and result["panels"] == 3
    assert "Nobody" in proc.stderr  # the note about the undefined character
    assert_one_line_error(
        storyviz("run", "a story", "--vistorybench", str(story), "--runs-dir", runs),
        "not both",
    )
    assert_one_line_error(
        storyviz("run", "--vistorybench", str(tmp_path / "nope.json"), "--runs-dir", runs),
        "no ViStoryBench story",
    )
