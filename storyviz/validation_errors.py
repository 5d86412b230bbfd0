"""A pydantic ValidationError as readable lines, ``where: what``.

pydantic's own text is a multi-line block with documentation URLs, and the message of a
validator's ValueError comes prefixed with "Value error, ". A refused flag, a chat reply, a
report's notice about a damaged file and the problems sent back to a model all need one plain
line per problem, and say them the same way because they are written here once.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails


def place_and_message(error: ErrorDetails, whole: str = "value") -> tuple[str, str]:
    """Where one problem is (``panels.0.cast.1.box``) and what it is, without the prefix.

    `whole` names the place of a problem with the input as a whole (pydantic gives it no
    location): "value" for settings, "document" for a file, "" for none."""
    where = ".".join(str(part) for part in error.get("loc", ())) or whole
    return where, str(error.get("msg", "invalid")).removeprefix("Value error, ")


def problem_line(error: ErrorDetails, whole: str = "value") -> str:
    """One problem as ``panels.0.cast.1.box: box [...] is degenerate`` (see `place_and_message`;
    with no place, the message alone)."""
    where, message = place_and_message(error, whole)
    return f"{where}: {message}" if where else message


def describe_validation_error(exc: ValidationError, whole: str = "value") -> str:
    """The first problem as one line, with a count of the others."""
    errors = exc.errors(include_url=False)
    more = len(errors) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    return problem_line(errors[0], whole) + suffix
