"""What a chat message is: a /command, an approval, or a plain-language edit (or a story).

Parsing is separate from acting so the terminal, a web page and the tests all read messages
the same way, and an unknown command is caught here, before anything runs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Literal

COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("", "show the plan (characters and panels)"),
    "show": ("N", "where panel N's image is"),
    "regen": ("N [SEED]", "draw panel N again from a new (or the given) seed"),
    "audit": ("", "the latest audit: Consistency Index and findings"),
    "report": ("", "where the current run's report.html is"),
    "export": ("[FORMAT]", "export the current comic (pdf, cbz, webtoon, png; default pdf)"),
    "use": ("N V", "show version V of panel N (no repair replaces it; /audit lists versions)"),
    "undo": ("", "go back to the previous plan and panel images"),
    "runs": ("", "the run folders this session made"),
    "help": ("", "this list"),
    "quit": ("", "leave (the thread is saved: storyviz chat --thread NAME resumes it)"),
}
"""name -> (arguments, what it does)"""
ALIASES = {"exit": "quit", "q": "quit", "bye": "quit", "h": "help", "?": "help"}

APPROVALS = frozenset(
    {"yes", "y", "yep", "yeah", "ok", "okay", "sure", "approve", "approved", "render", "draw"}
    | {"go", "lgtm", "fine", "good", "great"}
)
_APPROVAL_PHRASES = frozenset(
    {"go ahead", "looks good", "draw it", "render it", "yes please", "do it", "sounds good"}
)

EDIT_EXAMPLES = (
    "make panel 3 at night",
    "Mia wears a green scarf from now on",
    "add a panel after 4 where Bolt barks",
    "remove the second panel",
    "swap panels 2 and 3",
)


@dataclass(frozen=True)
class Message:
    kind: Literal["empty", "command", "unknown", "approve", "text"]
    name: str = ""  # the command, without its slash
    args: tuple[str, ...] = ()
    text: str = ""


def parse_message(raw: str) -> Message:
    text = raw.strip()
    if not text:
        return Message("empty")
    if text.startswith("/"):
        try:
            words = shlex.split(text[1:])
        except ValueError:
            words = text[1:].split()
        name = words[0].lower() if words else ""
        name = ALIASES.get(name, name)
        if name not in COMMANDS:
            return Message("unknown", name=name, text=text)
        return Message("command", name=name, args=tuple(words[1:]), text=text)
    plain = " ".join(re.sub(r"[!.,?]+", " ", text.lower()).split())
    if plain in APPROVALS or plain in _APPROVAL_PHRASES:
        return Message("approve", text=text)
    return Message("text", text=text)


def help_text() -> str:
    usages = {name: f"/{name} {args}".rstrip() for name, (args, _) in COMMANDS.items()}
    width = max(len(usage) for usage in usages.values())
    lines = [f"  {usages[name]:<{width}}  {about}" for name, (_, about) in COMMANDS.items()]
    examples = "\n".join(f"  {example}" for example in EDIT_EXAMPLES)
    return (
        "Commands:\n"
        + "\n".join(lines)
        + "\nApprove a plan with 'yes' (or ok, approve, render). Ask for changes in plain words:\n"
        + examples
    )
