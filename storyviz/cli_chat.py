"""`storyviz chat`: the terminal front end of a chat session (agents/chat/session.py).

It only reads lines and draws replies. At a terminal it uses prompt_toolkit (history kept in
<runs-dir>/chats/.history, Esc then Enter for a new line); with piped input it reads plain lines
and echoes each one, so a scripted conversation reads like a transcript. Either way a line
ending in a backslash continues on the next. Progress of a render goes to stderr. Everything is
printed through storyviz/terminal_console.py, so what a story or a model says cannot reach the
terminal as escape sequences.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from storyviz.terminal_console import console

if TYPE_CHECKING:
    from storyviz.agents.chat.state import Reply
    from storyviz.schemas import RunEvent

PROMPT = "you> "
EXIT_INTERRUPTED = 130


def run_chat(
    thread: str | None,
    *,
    runs_dir: Path | None = None,
    stdin: TextIO | None = None,
    **overrides: Any,
) -> int:
    """Hold one conversation; returns the exit code. Bad flags raise StoryvizError (one line)."""
    from storyviz.agents.chat.threads import thread_path
    from storyviz.importing import bulk_import

    if thread is not None:
        thread_path(Path("."), thread)  # a bad name fails before the heavy imports
    with bulk_import():
        from storyviz.agents.chat.session import ChatSession

    stdin = stdin or sys.stdin
    out = console(soft_wrap=False)
    progress = console(stderr=True)
    with ChatSession.open(
        thread, runs_dir=runs_dir, listener=_listener(progress), **overrides
    ) as chat:
        recap = chat.recap()
        if recap is None:
            out.print(
                f"storyviz chat: thread {chat.thread}. Describe your story; /help for commands."
            )
        else:
            show_reply(out, recap)
        interactive = stdin.isatty() and sys.stdout.isatty()
        history = chat.settings.runs_dir / "chats" / ".history"
        lines = _prompted(history) if interactive else _piped(stdin, out)
        try:
            for line in lines:
                reply = chat.send(line)
                show_reply(out, reply)
                if reply.done:
                    return 0
        except KeyboardInterrupt:
            out.print(f"interrupted; the thread is saved: storyviz chat --thread {chat.thread}")
            return EXIT_INTERRUPTED
        out.print(f"Bye. Resume with: storyviz chat --thread {chat.thread}")
    return 0


def _piped(stdin: TextIO, out: Console) -> Iterator[str]:
    """Lines from a pipe or file, echoed after the prompt so the output reads as a dialogue."""
    pending: list[str] = []
    for raw in _lines(stdin):
        line = raw.removesuffix("\n").removesuffix("\r")
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        text = "\n".join([*pending, line])
        pending = []
        out.print(f"{PROMPT}{text}", markup=False, soft_wrap=True)
        yield text
    if pending:
        yield "\n".join(pending)


def _lines(stdin: TextIO) -> Iterator[str]:
    """The raw lines of a pipe. Bytes that are not UTF-8 are kept (as surrogates) whatever the
    locale, instead of ending the conversation with a decoding error: the session answers such a
    line with an error and goes on."""
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:  # a text stream given by a caller
        yield from stdin
        return
    for raw in buffer:
        yield raw.decode("utf-8", "surrogateescape")


def _prompted(history: Path) -> Iterator[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    keys = KeyBindings()

    @keys.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    history.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(history)), key_bindings=keys
    )
    pending: list[str] = []
    while True:
        try:
            line = session.prompt(PROMPT if not pending else "...> ")
        except KeyboardInterrupt:
            pending = []
            continue
        except EOFError:
            return
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        yield "\n".join([*pending, line])
        pending = []


def show_reply(out: Console, reply: Reply) -> None:
    """A plan waiting for approval is shown whole; after a render only the redrawn rows."""
    if reply.plan is not None and reply.kind in ("plan", "edit"):
        show_plan(out, reply.plan)
    elif reply.plan is not None and reply.kind == "render" and (reply.changed or reply.added):
        show_plan(out, reply.plan, only_marked=True)
    style = "red" if reply.kind == "error" else None
    out.print(reply.text, style=style, markup=False, soft_wrap=True)
    if reply.image and out.is_terminal:
        _preview(out, Path(reply.image))


def _preview(out: Console, image: Path) -> None:
    """Draw the image inline where the terminal can (see cli_preview); else the path says it."""
    from storyviz.cli_preview import preview, protocol

    kind = protocol()
    if kind is not None and image.is_file():
        out.file.write(preview(image, kind))
        out.file.flush()


def show_plan(out: Console, table: dict[str, Any], *, only_marked: bool = False) -> None:
    """The plan as two rich tables: who is in it, then what each panel shows."""
    if not only_marked:
        _show_people(out, table)
    panels = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("#", "shot", "scene", "cast", "caption / dialogue"):
        panels.add_column(column, overflow="fold")
    for p in table["panels"]:
        if only_marked and not p["marked"]:
            continue
        text = " | ".join(t for t in (p["caption"], p["dialogue"]) if t)
        mark = "*" if p["marked"] else ""
        panels.add_row(
            f"{p['n']}{mark}",
            p["shot"],
            p["scene"],
            p["cast"],
            text,
            style="bold yellow" if p["marked"] else None,
        )
    out.print(panels)
    if any(p["marked"] for p in table["panels"]) and not only_marked:
        out.print("* changed or new")


def _show_people(out: Console, table: dict[str, Any]) -> None:
    about = f" ({table['style']}, {table['pages']} page(s))"
    out.print(Text.assemble((table["title"], "bold"), about))
    people = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("character", "looks", "colours"):
        people.add_column(column)
    for c in table["characters"]:
        people.add_row(c["name"], c["looks"], c["colours"])
    out.print(people)


def _listener(console: Console) -> Callable[[RunEvent], None]:
    """Render progress as short lines on stderr (the reply says the rest)."""

    def listen(event: RunEvent) -> None:
        d = event.detail
        if event.event == "rendered":
            console.print(f"  drew {event.panel_id} v{event.version}", style="dim")
        elif event.event == "audited":
            flagged = ", ".join(d.get("flagged", [])) or "none"
            ci = d.get("consistency_index")
            console.print(f"  audit: CI {ci:.3f}, flagged: {flagged}", style="dim")
        elif event.event == "repaired":
            console.print(f"  repaired {event.panel_id} v{event.version}", style="dim")

    return listen
