"""What a run folder holds and under which names: the one list of them.

The writer (run_store) and the reader (run_reader) both take every name and pattern from here,
so a reader can never look for a file under another name than the one it was written under.
run_store re-exports the file names, the spelling the rest of the project imports.
"""

from __future__ import annotations

import re

REQUEST_FILE = "request.json"
PLAN_FILE = "plan.json"
MANIFEST_FILE = "manifest.json"
AUDIT_FILE = "audit.json"
EVENTS_FILE = "events.jsonl"
REPORT_FILE = "report.html"
CHECKPOINT_FILE = "checkpoint.sqlite"
JOURNAL_DIR = "journal"
LOCK_FILE = ".writer.lock"

PANELS_DIR = "panels"
PAGES_DIR = "pages"
REFERENCES_DIR = "references"
MASKS_DIR = "masks"
PAGE_GLOB = "page_*.png"

_PAGE_NAME = re.compile(r"page_(\d+)\.png")  # used with fullmatch
_PANEL_NAME = re.compile(r"(.+)_v(\d+)\.png")  # used with fullmatch; the id may hold "_v" too


def panel_file(panel_id: str, version: int) -> str:
    """A panel version's image, run-relative."""
    return f"{PANELS_DIR}/{panel_id}_v{version}.png"


def mask_file(panel_id: str, version: int) -> str:
    """The mask a repair of a panel into ``version`` redraws inside, run-relative."""
    return f"{MASKS_DIR}/{panel_id}_v{version}.png"


def reference_file(character_id: str) -> str:
    """A character's reference image, run-relative (where a run puts it; audit.json records
    where it actually is)."""
    return f"{REFERENCES_DIR}/{character_id}.png"


def page_file(number: int) -> str:
    """A composed page, run-relative; numbered from 1, two digits at least."""
    return f"{PAGES_DIR}/page_{number:02d}.png"


def page_number(name: str) -> int | None:
    """The number of a page from its file name (``page_07.png`` -> 7), None if it is not one."""
    match = _PAGE_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def panel_version(name: str, panel_id: str) -> int | None:
    """The version of ``panel_id`` a panel file name holds (``p01_v3.png`` -> 3), None if the
    name is another panel's or no panel version at all."""
    match = _PANEL_NAME.fullmatch(name)
    return int(match.group(2)) if match and match.group(1) == panel_id else None
