"""The studio's page (Gradio Blocks): components and wiring only; the logic is the Workbench.

Each browser session gets its own Workbench in a `gr.State` (closed when the session ends, which
frees its chat thread). Steps that may draw are generators, so pictures appear as they are
drawn, and they share one queue slot group (`draw_limit` at a time across all sessions: one GPU
render at a time by default). Text a story or a model wrote is shown in components that do not
render HTML (textboxes, tables, a chat without markdown), so it cannot become markup.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr

from storyviz import registry
from storyviz.backend_plugins import names
from storyviz.config import Settings
from storyviz.errors import InputError
from storyviz.schemas import MAX_PANELS
from storyviz.studio.plan_cells import CHARACTER_COLUMNS, PANEL_COLUMNS
from storyviz.studio.run_view import FINDING_COLUMNS, ROUND_COLUMNS
from storyviz.studio.workbench import PanelEditor, Screen, StoryOptions, Workbench, warm_up

EXPORT_FORMATS = ["pdf", "cbz", "webtoon", "png"]
DRAW_QUEUE = "draw"
CSS = "#notice textarea { font-weight: 600; }"


def build_page(settings: Settings, fixed: dict[str, Any], *, draw_limit: int = 1) -> gr.Blocks:
    runs_dir = settings.runs_dir.resolve()

    def workbench(current: Workbench | None) -> Workbench:
        return current if current is not None else Workbench(runs_dir, fixed)

    sample = Workbench(runs_dir, fixed)
    with gr.Blocks(title="storyviz studio", analytics_enabled=False) as page:
        bench = gr.State(None, delete_callback=lambda wb: wb.close() if wb else None)
        gr.Markdown("# storyviz studio")
        notice = gr.Textbox(label="Status", interactive=False, elem_id="notice", max_lines=2)

        gr.Markdown("## 1. Story")
        story = gr.Textbox(label="Story", lines=8, elem_id="story", placeholder="Once upon ...")
        upload = gr.File(label="or a story file (.txt)", file_types=[".txt"], type="filepath")
        with gr.Row():
            style = gr.Textbox(label="Style", value=settings.style, elem_id="style")
            order = gr.Radio(["ltr", "rtl"], value=settings.reading_order, label="Reading order")
            size = gr.Dropdown(
                ["A4", "Letter", "B5", "square"], value=settings.page_size, label="Page size"
            )
            count = gr.Number(
                label=f"Panels (1-{MAX_PANELS}; empty: planner picks)",
                value=settings.panels,
                precision=0,
                elem_id="panels",
            )
            seed = gr.Number(label="Seed", value=settings.seed, precision=0)
        with gr.Row():
            roles = {
                role: gr.Dropdown(
                    sorted(names(role) | {sample.shown_backend(role, getattr(settings, role))}),
                    value=sample.shown_backend(role, getattr(settings, role)),
                    label=role.capitalize(),
                    allow_custom_value=True,
                    elem_id=f"backend-{role}",
                )
                for role in registry.ROLES
            }
        plan_button = gr.Button("Plan the story", variant="primary", elem_id="plan")

        gr.Markdown("## 2. Plan")
        title = gr.Textbox(label="Title", interactive=False, elem_id="title")
        characters = gr.Dataframe(
            headers=CHARACTER_COLUMNS,
            type="array",
            interactive=True,
            label="Characters",
            elem_id="characters",
            wrap=True,
        )
        panels = gr.Dataframe(
            headers=PANEL_COLUMNS,
            type="array",
            interactive=True,
            label="Panels",
            elem_id="panel-table",
            wrap=True,
        )
        with gr.Row():
            apply_button = gr.Button("Apply table edits", elem_id="apply")
            approve_button = gr.Button("Approve and draw", variant="primary", elem_id="approve")
        chat = gr.Chatbot(
            label="Chat", render_markdown=False, sanitize_html=True, height=320, elem_id="chat"
        )
        with gr.Row():
            message = gr.Textbox(
                label="Ask for a change",
                scale=4,
                elem_id="message",
                placeholder="make panel 2 at night; Mia wears a green scarf",
            )
            send_button = gr.Button("Send", scale=1, elem_id="send")

        gr.Markdown("## 3. Drawing")
        cancel_button = gr.Button("Cancel the drawing", variant="stop", elem_id="cancel")
        references = gr.Gallery(
            label="Reference sheets", columns=6, height=200, elem_id="references"
        )
        drawn = gr.Gallery(label="Panels", columns=4, height=360, elem_id="panels-gallery")
        rounds = gr.Dataframe(
            headers=ROUND_COLUMNS,
            type="array",
            interactive=False,
            label="Consistency index per round",
            elem_id="rounds",
        )
        findings = gr.Dataframe(
            headers=FINDING_COLUMNS,
            type="array",
            interactive=False,
            label="Findings and the repairs that answered them",
            elem_id="findings",
            wrap=True,
        )
        with gr.Row():
            flagged = gr.Dropdown(
                [], label="Flagged version", elem_id="flagged", scale=1, interactive=True
            )
            marked = gr.AnnotatedImage(
                label="Where the auditor found drift (box colour: what should be there)",
                height=320,
                elem_id="marked",
                scale=3,
            )

        gr.Markdown("## 4. Pages")
        pages = gr.Gallery(label="Pages", columns=2, height=520, elem_id="pages")
        with gr.Row():
            which = gr.Dropdown([], label="Panel", elem_id="which", scale=1)
            new_seed = gr.Number(label="Seed (empty: a new one)", precision=0, scale=1)
            redraw_button = gr.Button("Redraw", elem_id="redraw", scale=1)
            undo_button = gr.Button("Undo", elem_id="undo", scale=1)
        with gr.Row():
            version = gr.Dropdown([], label="Version of this panel", elem_id="version", scale=2)
            use_button = gr.Button("Show this version", elem_id="use-version", scale=1)
            preview = gr.Image(
                label="Version preview",
                type="filepath",
                interactive=False,
                height=200,
                elem_id="version-preview",
                scale=2,
            )
        caption = gr.Textbox(label="Caption", elem_id="caption")
        dialogue = gr.Textbox(label="Dialogue (Name: words / Name: words)", elem_id="dialogue")
        prompt = gr.Textbox(label="Image prompt (empty: written from the plan)", elem_id="prompt")
        save_button = gr.Button("Save and redraw this panel", elem_id="save-panel")

        gr.Markdown("## 5. Exports and report")
        with gr.Row():
            fmt = gr.Dropdown(EXPORT_FORMATS, value="pdf", label="Format", elem_id="format")
            export_button = gr.Button("Export", elem_id="export")
        download = gr.File(label="Download", interactive=False, elem_id="download")
        report = gr.HTML("", elem_id="report")

        gr.Markdown("## 6. History")
        with gr.Row():
            threads = gr.Dropdown(
                [], label="Earlier comics and chat threads", elem_id="threads", scale=4
            )
            refresh_button = gr.Button("Refresh", scale=1, elem_id="refresh")
            reopen_button = gr.Button("Reopen", scale=1, elem_id="reopen")

        shown = [
            notice,
            title,
            chat,
            characters,
            panels,
            references,
            drawn,
            rounds,
            findings,
            flagged,
            marked,
            pages,
            which,
            caption,
            dialogue,
            prompt,
            version,
            preview,
            report,
        ]

        def show(screen: Screen) -> tuple[Any, ...]:
            view = screen.view
            numbers = [row[0] for row in screen.panels]
            return (
                ("⚠ " if screen.error else "") + screen.notice,
                screen.title,
                _escaped(screen.messages),
                screen.characters or None,
                screen.panels or None,
                view.references,
                view.panels,
                view.rounds or None,
                view.findings or None,
                gr.update(choices=[f.label for f in view.flagged], value=None),
                None,
                view.pages,
                gr.update(choices=numbers, value=numbers[0] if numbers else None),
                *_editor_fields(screen.editor(1)),
                _report_link(view.report),
            )

        def stream(steps: Iterator[Screen], wb: Workbench) -> Iterator[tuple[Any, ...]]:
            for screen in steps:
                yield (wb, *show(screen))

        def on_plan(
            current: Workbench | None,
            text: str,
            file: str | None,
            style_: str,
            order_: str,
            size_: str,
            count_: float | None,
            seed_: float | None,
            *backends: str,
        ) -> Iterator[tuple[Any, ...]]:
            wb = workbench(current)
            if file and not str(text).strip():
                try:
                    text = _read_story(file)
                except InputError as exc:
                    yield (wb, f"⚠ {exc}", *([gr.update()] * (len(shown) - 1)))
                    return
            options = StoryOptions(
                story=str(text or ""),
                style=str(style_ or ""),
                reading_order=str(order_),
                page_size=str(size_),
                panels=int(count_) if count_ else None,
                seed=int(seed_ or 0),
                backends=dict(zip(registry.ROLES, backends, strict=True)),
            )
            yield from stream(wb.start(options), wb)

        def on_upload(file: str | None, text: str) -> tuple[str, str]:
            if not file:
                return text, ""
            try:
                return _read_story(file), "Story read from the file."
            except InputError as exc:
                return text, f"⚠ {exc}"

        def on_send(wb: Workbench | None, text: str) -> Iterator[tuple[Any, ...]]:
            wb = workbench(wb)
            for out in stream(wb.say(text), wb):
                yield (*out, "")

        def on_approve(wb: Workbench | None) -> Iterator[tuple[Any, ...]]:
            wb = workbench(wb)
            yield from stream(wb.approve(), wb)

        def on_apply(wb: Workbench | None, chars: Any, rows: Any) -> Iterator[tuple[Any, ...]]:
            wb = workbench(wb)
            yield from stream(wb.apply_cells(chars or [], rows or []), wb)

        def on_redraw(wb: Workbench | None, n: Any, s: Any) -> Iterator[tuple[Any, ...]]:
            wb = workbench(wb)
            yield from stream(wb.redraw(_number(n), None if s in (None, "") else int(s)), wb)

        def on_undo(wb: Workbench | None) -> Iterator[tuple[Any, ...]]:
            wb = workbench(wb)
            yield from stream(wb.undo(), wb)

        def on_save(wb: Workbench | None, n: Any, c: str, d: str, p: str) -> Iterator[Any]:
            wb = workbench(wb)
            yield from stream(wb.edit_panel(_number(n), c or "", d or "", p or ""), wb)

        def on_pick(wb: Workbench | None, n: Any) -> tuple[Any, ...]:
            """The chosen panel's caption, dialogue and prompt, as its table row shows them,
            and its drawn versions (the one shown selected)."""
            return _editor_fields(wb.editor(_number(n)) if wb else PanelEditor())

        def on_version(wb: Workbench | None, n: Any, v: Any) -> str | None:
            choices = wb.versions(_number(n)) if wb else []
            return next((c.path for c in choices if c.number == _number(v)), None)

        def on_use(wb: Workbench | None, n: Any, v: Any) -> Iterator[tuple[Any, ...]]:
            wb = workbench(wb)
            yield from stream(wb.use_version(_number(n), _number(v)), wb)

        def on_flagged(wb: Workbench | None, label: str | None) -> Any:
            found = wb.flagged(label or "") if wb else None
            if found is None:
                return None
            image: Any = found.annotated()  # boxes as Gradio's annotations (x0, y0, x1, y1)
            return gr.AnnotatedImage(value=image, color_map=found.colours())

        def on_cancel(wb: Workbench | None) -> str:
            return wb.cancel() if wb else "Nothing is being drawn."

        def on_export(wb: Workbench | None, fmt_: str) -> tuple[Any, ...]:
            wb = workbench(wb)
            screen, written = wb.export(fmt_)
            return wb, screen.notice, [str(p) for p in written] or None

        def on_threads(wb: Workbench | None) -> tuple[Any, ...]:
            wb = workbench(wb)
            found = wb.threads()
            return wb, gr.update(choices=[(t.label, t.name) for t in found], value=None)

        def on_reopen(wb: Workbench | None, thread: str) -> tuple[Any, ...]:
            wb = workbench(wb)
            return (wb, *show(wb.reopen(thread or "")))

        draw: dict[str, Any] = {"concurrency_limit": draw_limit, "concurrency_id": DRAW_QUEUE}
        outputs = [bench, *shown]
        plan_button.click(
            on_plan,
            [bench, story, upload, style, order, size, count, seed, *roles.values()],
            outputs,
            **draw,
        )
        upload.upload(on_upload, [upload, story], [story, notice])
        send_button.click(on_send, [bench, message], [*outputs, message], **draw)
        message.submit(on_send, [bench, message], [*outputs, message], **draw)
        approve_button.click(on_approve, [bench], outputs, **draw)
        apply_button.click(on_apply, [bench, characters, panels], outputs, **draw)
        redraw_button.click(on_redraw, [bench, which, new_seed], outputs, **draw)
        undo_button.click(on_undo, [bench], outputs, **draw)
        save_button.click(on_save, [bench, which, caption, dialogue, prompt], outputs, **draw)
        which.change(on_pick, [bench, which], [caption, dialogue, prompt, version, preview])
        version.change(on_version, [bench, which, version], [preview])
        use_button.click(on_use, [bench, which, version], outputs, **draw)
        flagged.change(on_flagged, [bench, flagged], [marked])
        cancel_button.click(on_cancel, [bench], [notice], queue=False)
        export_button.click(on_export, [bench, fmt], [bench, notice, download])
        refresh_button.click(on_threads, [bench], [bench, threads])
        reopen_button.click(on_reopen, [bench, threads], outputs, **draw)
        page.load(on_threads, [bench], [bench, threads]).then(_warm_up)
    return page


def _editor_fields(editor: PanelEditor) -> tuple[Any, ...]:
    """caption, dialogue, prompt, the version picker and its preview."""
    shown = editor.shown
    versions = gr.update(
        choices=[(c.label, c.number) for c in editor.versions],
        value=shown.number if shown else None,
    )
    return editor.caption, editor.dialogue, editor.prompt, versions, shown.path if shown else None


def _warm_up() -> None:
    """The chat engine's imports, once, in the background after the first page load."""
    global _WARMING
    if _WARMING is None:
        _WARMING = threading.Thread(target=warm_up, name="studio-warm-up", daemon=True)
        _WARMING.start()


_WARMING: threading.Thread | None = None


def _escaped(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Gradio's chat puts a message into the page as HTML (sanitised, but a story's <b> would
    still be bold): escaped, every message reads exactly as it was written."""
    return [{**m, "content": html.escape(m["content"], quote=False)} for m in messages]


def _number(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def _read_story(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("that file is not UTF-8 text; the story box is unchanged") from None
    except OSError as exc:
        raise InputError(
            f"cannot read that file ({exc.strerror}); the story box is unchanged"
        ) from None


def _report_link(report: Path | None) -> str:
    """A link that opens the run's report in a new tab, served from the runs directory."""
    if report is None or not report.is_file():
        return ""
    url = "/gradio_api/file=" + quote(str(report))
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="noopener" id="report-link">'
        f"Open the report of {html.escape(report.parent.name)}</a>"
    )
