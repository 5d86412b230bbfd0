"""The offline planner reads what a story writes about each character (issue 17).

Each test is a small story of its own (not one of the benchmark corpus's) exercising one way
stories describe people: a copular introduction, an appositive, a title, a group, a possessive,
"wore"/"dressed in"; and the two promises every sheet keeps: a colour the story states is never
replaced by an invented one, and an invented one is marked as assigned.
"""

from __future__ import annotations

from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.report import ASSIGNED_NOTE
from storyviz.schemas import CharacterSheet, StoryPlan, StoryRequest


def _plan(story: str) -> StoryPlan:
    return OfflinePlanner().plan(StoryRequest(story=story, seed=0))


def _sheet(plan: StoryPlan, name: str) -> CharacterSheet:
    found = [s for s in plan.characters if s.name.lower() == name.lower()]
    assert found, f"no sheet named {name!r}; sheets: {[s.name for s in plan.characters]}"
    return found[0]


def _colours(plan: StoryPlan, name: str) -> dict[str, str]:
    return _sheet(plan, name).attributes.colors


def test_copular_introduction_gives_the_name_its_description() -> None:
    plan = _plan(
        "Ines was a tall woman with grey braids and a teal shawl. She fed the ducks at noon. "
        '"Come on, then," Ines said.'
    )
    colours = _colours(plan, "Ines")
    assert colours["hair"] == "grey"
    assert colours["accessory"] == "teal"
    assert [s.name for s in plan.characters] == ["Ines"]


def test_colour_stated_after_the_part_is_read() -> None:
    plan = _plan("Pavel waited at the gate. His scarf was bright yellow and his boots were brown.")
    assert _colours(plan, "Pavel")["accessory"] in ("yellow", "brown")


def test_appositive_description_stays_with_its_own_person() -> None:
    plan = _plan(
        "Hamid the cook, a broad man with a white apron, stirred the soup. Lotte came in from "
        'the rain. She wore a violet raincoat. "Smells good," Lotte said.'
    )
    assert _colours(plan, "Hamid")["outfit"] == "white"
    assert _colours(plan, "Lotte")["outfit"] == "violet"


def test_unnamed_appositive_is_one_character() -> None:
    plan = _plan(
        "A painter and a small brown goat live on the hill. The painter, a woman in a maroon "
        "smock, paints the goat every day."
    )
    names = [s.name for s in plan.characters]
    assert "The woman" not in names
    assert _colours(plan, "The painter")["outfit"] == "maroon"


def test_titled_name_keeps_its_title_and_colour() -> None:
    plan = _plan(
        'Old Mrs. Quinn, wearing a scarlet hat, watered her roses. "Lovely day," said Mrs. Quinn.'
    )
    sheet = plan.characters[0]
    assert "Quinn" in sheet.name
    assert sheet.attributes.colors["accessory"] == "scarlet"


def test_group_colour_goes_to_every_member() -> None:
    plan = _plan(
        "The cousins, Rafa and Noor, both in orange jackets, raced down the dune. Rafa fell "
        'first. "Again!" shouted Noor.'
    )
    assert _colours(plan, "Rafa")["outfit"] == "orange"
    assert _colours(plan, "Noor")["outfit"] == "orange"


def test_possessive_colour_belongs_to_the_possessor() -> None:
    plan = _plan(
        "Yara's silver bicycle leaned on the wall. Beside it, Tobias's green cap lay in the "
        'grass. "Whose cap is that?" asked Yara. Tobias laughed.'
    )
    assert _colours(plan, "Tobias")["accessory"] == "green"
    assert "accessory" not in _colours(plan, "Yara")


def test_wore_and_dressed_in_are_read() -> None:
    plan = _plan(
        "Cass wore a navy jumpsuit to the launch. Her uncle Bram came dressed all in white. "
        '"Ready?" Bram asked.'
    )
    assert _colours(plan, "Cass")["outfit"] == "navy"
    assert _colours(plan, "Bram")["outfit"] == "white"


def test_first_person_narrator_is_a_character() -> None:
    plan = _plan('I tied my purple scarf and ran after Dot. "Wait!" I shouted.')
    narrator = _sheet(plan, "The narrator")
    assert narrator.attributes.colors.get("accessory") == "purple"
    lines = [line for panel in plan.panels for line in panel.dialogue]
    assert any(line.speaker_id == narrator.id for line in lines)


def test_single_quoted_speech_is_dialogue_not_narration() -> None:
    plan = _plan("'I can't find it,' said Mo. 'Look under the bed,' said Ada.")
    texts = [line.text for panel in plan.panels for line in panel.dialogue]
    assert any("find it" in t for t in texts)
    assert "The narrator" not in [s.name for s in plan.characters]


def test_stated_colour_is_never_replaced_by_an_assigned_one() -> None:
    plan = _plan(
        "Juno was a small girl. Her coat was lime and her hat was pink. Juno skipped to school."
    )
    attributes = _sheet(plan, "Juno").attributes
    assert attributes.colors["outfit"] == "lime"
    assert "outfit" not in attributes.assigned_colors


def test_assigned_colour_is_marked_on_the_sheet() -> None:
    plan = _plan("Otto sat on the step and ate an apple.")
    attributes = _sheet(plan, "Otto").attributes
    assert attributes.assigned_colors == ["outfit"]
    assert "outfit" in attributes.colors


def test_report_shows_an_assigned_colour_as_assigned() -> None:
    from storyviz import report

    view_marked = report._marked("orange clothes", True)
    assert view_marked == f"orange clothes {ASSIGNED_NOTE}"
    assert report._marked("orange clothes", False) == "orange clothes"


def test_every_character_is_in_some_panel() -> None:
    plan = _plan(
        "Wen, a girl in a blue dress, met a boy in a red cap at the fair. He won a prize. "
        '"Well done," said Wen.'
    )
    cast = {m.character_id for panel in plan.panels for m in panel.cast}
    assert {s.id for s in plan.characters} <= cast


def _speaker_of(plan: StoryPlan, fragment: str) -> str | None:
    names = {s.id: s.name for s in plan.characters}
    for panel in plan.panels:
        for line in panel.dialogue:
            if fragment in line.text:
                return names.get(line.speaker_id) if line.speaker_id else None
    raise AssertionError(f"no line with {fragment!r}")


def test_split_quote_continues_its_speaker() -> None:
    plan = _plan(
        'Nell found a boy in the shed. "Who are you?" she asked. "Nobody," said the boy. '
        '"I live here."'
    )
    assert _speaker_of(plan, "I live here") == "The boy"


def test_a_line_is_not_spoken_by_whom_it_addresses() -> None:
    plan = _plan('Arun and Bette sat by the fire.\n"Is it late?"\n"Not yet."\n"Go to bed, Arun."\n')
    assert _speaker_of(plan, "Go to bed") == "Bette"


def test_dash_dialogue_is_read_with_its_speaker() -> None:
    plan = _plan(
        "Lior reached the bridge.\n— Who built this? Lior asked.\n— Nobody knows, he said.\n"
    )
    assert _speaker_of(plan, "Who built this") == "Lior"


def test_titled_name_is_the_noun_it_is_later_called() -> None:
    plan = _plan(
        'Sergeant Okoye, a short woman in a green coat, checked the gate. "All clear," '
        "said the sergeant."
    )
    assert [s.name for s in plan.characters] == ["Sergeant Okoye"]
    assert _speaker_of(plan, "All clear") == "Sergeant Okoye"


def test_narrator_who_names_themself_is_one_character() -> None:
    plan = _plan("My name is Odile. I wear a yellow beret everywhere. Today I lost it.")
    assert [s.name for s in plan.characters] == ["Odile"]
    assert _colours(plan, "Odile")["accessory"] == "yellow"


def test_possessed_creature_is_in_its_panel() -> None:
    plan = _plan("The miller's goat, a white nanny with one horn, sleeps in the yard.")
    goat = _sheet(plan, "The goat")
    assert goat.attributes.colors["fur"] == "white"
    assert all(panel.cast for panel in plan.panels)


def test_russian_noun_and_name_and_declined_forms() -> None:
    plan = _plan("Серый пёс Буран жил у реки. У Бурана был красный ошейник. Буран лаял на лодки.")
    names = [s.name for s in plan.characters]
    assert names == ["Буран"], names
    assert _colours(plan, "Буран")["accessory"] == "red"


def test_chinese_speaker_and_possessive_colour() -> None:
    plan = _plan("王芳在河边画画。王芳的眼睛是绿色的。“真美！”王芳说。")
    sheet = _sheet(plan, "王芳")
    assert sheet.attributes.colors["eyes"] == "green"
    assert _speaker_of(plan, "真美") == "王芳"


def test_japanese_honorific_name() -> None:
    plan = _plan("翔太くんは黄色い帽子をかぶっている。「行ってきます」と翔太くんが言う。")
    assert _colours(plan, "翔太")["accessory"] == "yellow"


def test_a_colour_a_person_names_in_an_edit_is_no_longer_assigned() -> None:
    planner = OfflinePlanner()
    plan = planner.plan(StoryRequest(story="Otto sat on the step and ate an apple.", seed=0))
    assert _sheet(plan, "Otto").attributes.assigned_colors == ["outfit"]
    kept = planner.edit_plan(plan, "Otto wears a dress").plan
    assert _sheet(kept, "Otto").attributes.assigned_colors == ["outfit"]  # colour kept, still ours
    named = planner.edit_plan(plan, "Otto wears a red coat").plan
    attributes = _sheet(named, "Otto").attributes
    assert attributes.colors["outfit"] == "red"
    assert attributes.assigned_colors == []


def _cast_ids(plan: StoryPlan) -> list[list[str]]:
    return [[member.character_id for member in panel.cast] for panel in plan.panels]


def _id_of(plan: StoryPlan, name: str) -> str:
    return _sheet(plan, name).id


def test_titled_name_after_a_describing_word_with_a_participle() -> None:
    plan = _plan("Old Mr. Pike, wearing a brown cap, fed the pigeons.")
    assert [s.name for s in plan.characters] == ["Old Mr. Pike"]
    assert _colours(plan, "Old Mr. Pike")["accessory"] == "brown"
    assert _id_of(plan, "Old Mr. Pike") in _cast_ids(plan)[0]


def test_appositive_list_after_a_group_noun_with_both_in() -> None:
    plan = _plan("The brothers, Sam and Jo, both in red boots, watched the pigeons.")
    assert sorted(s.name for s in plan.characters) == ["Jo", "Sam"]
    for name in ("Sam", "Jo"):
        assert _colours(plan, name)["accessory"] == "red"
        assert _id_of(plan, name) in _cast_ids(plan)[0]


def test_titled_participle_and_group_list_in_one_story() -> None:
    plan = _plan(
        "Old Mr. Pike, wearing a brown cap, fed the pigeons. The brothers, Sam and Jo, both in "
        "red boots, watched him."
    )
    assert sorted(s.name for s in plan.characters) == ["Jo", "Old Mr. Pike", "Sam"]
    assert _colours(plan, "Old Mr. Pike")["accessory"] == "brown"
    assert _colours(plan, "Sam")["accessory"] == _colours(plan, "Jo")["accessory"] == "red"
    casts = _cast_ids(plan)
    assert _id_of(plan, "Old Mr. Pike") in casts[0]
    assert {_id_of(plan, "Sam"), _id_of(plan, "Jo")} <= set(casts[-1])


def test_other_group_noun_with_each_in() -> None:
    plan = _plan("The twins, Ada and Mo, each in green scarves, ran to the lake.")
    assert sorted(s.name for s in plan.characters) == ["Ada", "Mo"]
    assert _colours(plan, "Ada")["accessory"] == _colours(plan, "Mo")["accessory"] == "green"


def test_group_noun_after_a_number() -> None:
    plan = _plan("Two friends, Lupe and Kit, sat on the wall.")
    assert sorted(s.name for s in plan.characters) == ["Kit", "Lupe"]


def test_other_titles_followed_by_a_comma() -> None:
    plan = _plan("Captain Rhee, in a blue coat, waved. Young Dr. Lee, wearing a white hat, smiled.")
    assert sorted(s.name for s in plan.characters) == ["Captain Rhee", "Young Dr. Lee"]
    assert _colours(plan, "Young Dr. Lee")["accessory"] == "white"


def test_single_name_with_a_participle_phrase_and_a_verb() -> None:
    plan = _plan("Nell, dressed in a purple cloak, crossed the bridge.")
    assert [s.name for s in plan.characters] == ["Nell"]


def test_sentence_initial_ordinary_words_before_a_comma_are_not_characters() -> None:
    plan = _plan(
        "However, wearing a coat, she left. Yesterday, in the rain, he waited. Later, with a red "
        "umbrella, she ran. Breathless, in a grey coat, she ran. Grinning, with a kite, he "
        "laughed."
    )
    names = {s.name.lower() for s in plan.characters}
    assert not names & {"however", "yesterday", "later", "breathless", "grinning"}


def test_an_object_pronoun_after_a_preposition_owns_no_colour() -> None:
    plan = _plan("Mr. Bo waited by the door. Dr. Imani Cole sat beside him in a yellow dress.")
    assert _colours(plan, "Dr. Imani Cole")["outfit"] == "yellow"
    assert _colours(plan, "Mr. Bo").get("outfit") != "yellow"
