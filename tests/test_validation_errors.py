"""A pydantic ValidationError is said in one way everywhere (storyviz.validation_errors)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from storyviz.providers.calls import problems_of
from storyviz.validation_errors import (
    describe_validation_error,
    place_and_message,
    problem_line,
)


class Cast(BaseModel):
    name: str
    box: list[float]

    @field_validator("box")
    @classmethod
    def _four(cls, v: list[float]) -> list[float]:
        if len(v) != 4:
            raise ValueError("a box needs 4 numbers")
        return v


class Panel(BaseModel):
    cast: list[Cast]
    panels: int


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Panel.model_validate(data)
    return info.value


def test_the_first_problem_names_its_place_without_pydantic_s_prefix() -> None:
    exc = _error({"cast": [{"name": "Mia", "box": [0.1]}], "panels": 1})
    assert describe_validation_error(exc) == "cast.0.box: a box needs 4 numbers"
    assert place_and_message(exc.errors()[0]) == ("cast.0.box", "a box needs 4 numbers")


def test_the_other_problems_are_counted() -> None:
    one_more = _error({"cast": [{"name": "Mia", "box": [0.1]}]})
    assert describe_validation_error(one_more) == (
        "cast.0.box: a box needs 4 numbers (and 1 more problem)"
    )
    two_more = _error({"cast": [{"box": [0.1]}]})
    assert describe_validation_error(two_more).endswith("(and 2 more problems)")


def test_a_problem_with_the_whole_input_is_named_as_the_caller_says() -> None:
    with pytest.raises(ValidationError) as info:
        Panel.model_validate_json("not json")
    exc = info.value
    assert describe_validation_error(exc).startswith("value: Invalid JSON")
    assert describe_validation_error(exc, "document").startswith("document: Invalid JSON")
    assert problem_line(exc.errors()[0], whole="").startswith("Invalid JSON")


def test_a_model_s_answer_gets_one_line_per_problem() -> None:
    exc = _error({"cast": [{"name": "Mia", "box": [0.1]}]})
    assert problems_of(exc) == ["cast.0.box: a box needs 4 numbers", "panels: Field required"]
    with pytest.raises(ValidationError) as info:
        Panel.model_validate_json('{"cast": [')
    (line,) = problems_of(info.value)
    assert line.startswith("the answer is not valid JSON (EOF while parsing")
