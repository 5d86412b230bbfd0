"""Paper sizes for printed exports, in PDF points (1/72 inch).

The named sizes are the page sizes a run can be composed at: A4, US Letter, JIS B5 (the common
manga magazine size, 182 x 257 mm, which is also the aspect of the composed B5 pages) and a
10-inch square. Anything else is written as WIDTHxHEIGHT with a unit.
"""

from __future__ import annotations

import re

from storyviz.errors import InputError

MM = 72 / 25.4
PAPER_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "Letter": (215.9, 279.4),
    "B5": (182.0, 257.0),
    "square": (254.0, 254.0),
}
UNITS = {"mm": MM, "cm": 10 * MM, "in": 72.0, "pt": 1.0}
MAX_POINTS = 14_400.0  # the largest page a PDF reader must accept (200 inches)
_CUSTOM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*(mm|cm|in|pt)\s*$", re.I)


def paper_points(size: str) -> tuple[float, float]:
    """(width, height) in points for a named size or 'WIDTHxHEIGHT' + unit, e.g. '8.5x11in'."""
    for name, (width, height) in PAPER_MM.items():
        if size.strip().lower() == name.lower():
            return width * MM, height * MM
    match = _CUSTOM.match(size)
    if match:
        scale = UNITS[match.group(3).lower()]
        width, height = float(match.group(1)) * scale, float(match.group(2)) * scale
        if min(width, height) >= 72.0 and max(width, height) <= MAX_POINTS:
            return width, height
        raise InputError(f"page size {size!r} is out of range: between 1 and 200 inches a side")
    names = ", ".join(PAPER_MM)
    raise InputError(
        f"unknown page size {size!r}: use {names} or WIDTHxHEIGHT with mm, cm, in or pt "
        "(e.g. 210x297mm)"
    )
