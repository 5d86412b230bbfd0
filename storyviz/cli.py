"""The storyviz command line.

Only typer is imported at start-up: `storyviz --help` must answer fast and must not import
langgraph or torch. Each command imports what it needs when it runs. Every error a user can fix
is printed as one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storyviz.cli_errors import EXIT_INTERRUPTED, EXIT_USAGE, OneLineErrors, print_error
from storyviz.terminal_text import clean_logging, echo

if TYPE_CHECKING:
    from storyviz.agents.runner import RunOutcome
    from storyviz.config import Settings

app = typer.Typer(
    cls=OneLineErrors,
    name="storyviz",
    help="Turn a story in plain language into a consistent comic, with an audit report.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
)


def _named_path(value: str) -> Path:
    """A path option's value; an empty one is refused rather than read as '.' (the current
    directory), which is what Path("") means and never what someone who typed "" meant."""
    if not value.strip():
        raise typer.BadParameter("the path is empty")
    return Path(value)


RunsDir = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir",
        help="Folder holding run folders [default: ./runs].",
        show_default=False,
        parser=_named_path,
    ),
]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print one JSON object as the last line on stdout.")
]
PlannerOpt = Annotated[str | None, typer.Option("--planner", help="Planner backend, e.g. offline.")]
GeneratorOpt = Annotated[
    str | None,
    typer.Option("--generator", help="Generator backend, e.g. sketch or 'sketch?drift=0.5'."),
]
AuditorOpt = Annotated[str | None, typer.Option("--auditor", help="Auditor backend, e.g. offline.")]
RepairerOpt = Annotated[
    str | None, typer.Option("--repairer", help="Repairer backend, e.g. offline.")
]
MaxLLMCallsOpt = Annotated[
    int | None,
    typer.Option("--max-llm-calls", help="Stop the run cleanly after this many model calls."),
]


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)


def _read_story(story: str | None, file: Path | None) -> str:
    if story is not None and file is not None:
        raise _fail("give the story either as an argument or with --file, not both")
    if file is not None:
        from storyviz.schemas import MAX_STORY_CHARS

        limit = 4 * MAX_STORY_CHARS + 3  # UTF-8 takes at most 4 bytes a character, + a BOM
        try:
            data = _read_bytes(file, limit + 1)
            if len(data) > limit:
                raise _fail(
                    f"cannot read story file {file}: it is over {limit:,} bytes "
                    f"(the limit is {MAX_STORY_CHARS:,} characters)"
                )
            # utf-8-sig: a byte-order mark some editors write is not part of the story
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _fail(f"cannot read story file {file}: it is not UTF-8 text") from None
        except OSError as exc:
            raise _fail(f"cannot read story file {file}: {exc.strerror or exc}") from None
    if story is None:
        raise _fail('no story given: storyviz run "A shy girl named Mia ..." or --file story.txt')
    return story


def _read_bytes(file: Path, most: int) -> bytes:
    """At most `most` bytes of a file, or of standard input for '-'. Bytes, so stdin is decoded
    exactly as a file is (a text read keeps undecodable bytes as surrogates, or fails, by
    locale); at most, so /dev/zero or a pipe that never ends cannot fill the memory."""
    if str(file) != "-":
        with file.open("rb") as fh:
            return fh.read(most)
    if sys.stdin is None:
        raise OSError("standard input is closed")
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # replaced by a text stream (an embedding program, a test)
        return sys.stdin.read(most).encode("utf-8", "surrogateescape")
    data: bytes = buffer.read(most)
    return data


class _Progress:
    """Turns run events into progress on stderr: a bar per render phase, a line per step."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from storyviz.terminal_console import console

        self.console = console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task: Any = None
        self.step_task: Any = None
        self.token_task: Any = None
        self.started = False

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.progress.__exit__(None, None, None)

    def _line(self, text: str) -> None:
        self.progress.console.print(text)

    def _steps(self, step: int, total: int) -> None:
        """A second bar for the denoising steps of the render under way."""
        if self.step_task is None:
            self.step_task = self.progress.add_task("  denoising", total=total)
        self.progress.update(self.step_task, completed=step, total=total)

    def _tokens(self, purpose: str, tokens: int, seconds: float, most: int | None) -> None:
        """A live line for a streamed model answer: how much has come, how fast, and how far
        it is from the call's token cap (the bar)."""
        rate = tokens / seconds if seconds > 0 else 0.0
        text = f"  {purpose}: {tokens} tokens, {rate:.1f} tokens/s"
        if self.token_task is None:
            self.token_task = self.progress.add_task(text, total=most)
        self.progress.update(self.token_task, description=text, completed=tokens, total=most)

    def _end_tokens(self) -> None:
        if self.token_task is not None:
            self.progress.remove_task(self.token_task)
            self.token_task = None

    def _bar(self, description: str, total: int) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(description, total=total)

    def __call__(self, event: Any) -> None:
        # The display starts with the first event: an error before the run begins (a bad
        # backend string) is then the only line on stderr, not a line after an empty display.
        if not self.started:
            self.progress.start()
            self.started = True
        d = event.detail
        if event.event == "started":
            self._line(f"run {d.get('run_id')}")
        elif event.event == "resumed":
            self._line(f"resuming a run that was {d.get('previous_status')}")
        elif event.event == "llm_progress":
            most = d.get("most")
            self._tokens(
                str(d.get("purpose")),
                int(d.get("tokens", 0)),
                float(d.get("seconds", 0)),
                int(most) if most else None,
            )
        elif event.event == "llm_call":
            self._end_tokens()
        elif event.event == "planned":
            self._end_tokens()
            self._line(
                f"planned '{d.get('title')}': {d.get('panels')} panels, "
                f"{d.get('characters')} characters, {d.get('pages')} pages ({event.seconds:.2f}s)"
            )
            self._bar("render", int(d.get("panels", 0)))
        elif event.event == "reference":
            self._line(f"  reference sheet for {d.get('character')} ({event.seconds:.2f}s)")
        elif event.event == "rendered" and self.task is not None:
            self.progress.advance(self.task)
        elif event.event == "denoise":
            self._steps(int(d.get("step", 0)), int(d.get("total", 0)))
        elif event.event == "audited":
            flagged = ", ".join(d.get("flagged", [])) or "none"
            self._line(
                f"audit round {d.get('round')}: {len(d.get('audited', []))} panels, "
                f"{d.get('findings')} findings, "
                f"consistency index {d.get('consistency_index'):.3f}, "
                f"flagged: {flagged}"
            )
        elif event.event == "repair_planned":
            self._line(f"  repair {event.panel_id} -> v{event.version}: {d.get('strategy')}")
        elif event.event == "recovered":
            what = f"{event.panel_id} v{event.version}" if event.panel_id else d.get("target")
            self._line(f"  kept {what}: drawn before the interruption")
        elif event.event == "repaired":
            self._line(f"  repaired {event.panel_id} v{event.version} ({event.seconds:.2f}s)")
        elif event.event == "warning":
            self._line(f"warning: {d.get('message')}")
        elif event.event == "composed":
            self._line(f"composed {d.get('pages')} page(s)")
        elif event.event == "reported":
            self._line("wrote the report")


@contextmanager
def _progress_display(quiet: bool) -> Iterator[_Progress | None]:
    """The progress listener, or none at all when quiet (rich then stays unimported)."""
    if quiet:
        yield None
        return
    with _Progress() as progress:
        yield progress


def _settings(**overrides: Any) -> Settings:
    from storyviz.config import load_settings

    return load_settings(**overrides)


def _print_outcome(result: RunOutcome, as_json: bool) -> None:
    if as_json:
        echo(json.dumps(result.as_json()))
        return
    ci = "n/a" if result.consistency_index is None else f"{result.consistency_index:.3f}"
    echo(
        f"{result.status}: {result.panels} panels, consistency index {ci}, "
        f"{result.rounds} repair round(s), {result.findings} findings, {result.repairs} repairs"
    )
    echo(f"run folder: {result.run_dir}")
    if result.report:
        echo(f"report:     {result.report}")


@app.command()
def run(
    story: Annotated[str | None, typer.Argument(help="The story text (or use --file).")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Read the story from a UTF-8 text file ('-' for stdin).",
            parser=_named_path,
        ),
    ] = None,
    vistorybench: Annotated[
        Path | None,
        typer.Option(
            "--vistorybench",
            help="Render a ViStoryBench story.json as it is (no planning).",
            parser=_named_path,
        ),
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of a --vistorybench story: en or ch.")
    ] = "en",
    panels: Annotated[
        int | None, typer.Option("--panels", help="Number of panels (default: auto).")
    ] = None,
    style: Annotated[str | None, typer.Option("--style", help="Art style for every panel.")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for every random choice.")
    ] = None,
    reading_order: Annotated[
        str | None, typer.Option("--reading-order", help="ltr or rtl (manga).")
    ] = None,
    page_size: Annotated[
        str | None, typer.Option("--page-size", help="A4, Letter, B5 or square.")
    ] = None,
    runs_dir: RunsDir = None,
    planner: PlannerOpt = None,
    generator: GeneratorOpt = None,
    auditor: AuditorOpt = None,
    repairer: RepairerOpt = None,
    max_rounds: Annotated[
        int | None,
        typer.Option("--max-rounds", help="Repair rounds after the first audit [default: 3]."),
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", help="Repairs per panel [default: 2].")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Panel score below which it is repaired [default: 0.8]."),
    ] = None,
    max_llm_calls: MaxLLMCallsOpt = None,
    export: Annotated[
        str | None,
        typer.Option("--export", help="Also export the finished run, e.g. pdf,cbz (to exports/)."),
    ] = None,
    as_json: JsonFlag = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Plan, render, audit and repair a story; write its run folder and report."""
    from storyviz.exports import parse_formats

    formats = parse_formats(export) if export else []  # a typo fails before any work
    from storyviz.importing import bulk_import

    with bulk_import():
        from storyviz.agents.runner import start_run

    if vistorybench is not None and (story is not None or file is not None):
        raise _fail("give either a story or --vistorybench, not both")
    text = _read_story(story, file) if vistorybench is None else ""
    settings = _settings(
        runs_dir=runs_dir, planner=planner, generator=generator, auditor=auditor,
        repairer=repairer, panels=panels, style=style, seed=seed, reading_order=reading_order,
        page_size=page_size, max_rounds=max_rounds, max_attempts=max_attempts, threshold=threshold,
        max_llm_calls=max_llm_calls,
    )  # fmt: skip
    run_seed: Any = None
    if vistorybench is not None:  # the story's shots are the plan: seeded, not planned
        from storyviz.vistorybench import seeded_run

        text, run_seed, notes = seeded_run(vistorybench, lang, settings)
        for note in notes:
            echo(f"storyviz: warning: {note}", err=True)
    request = settings.story_request(text)
    created: list[Any] = []
    with _progress_display(quiet or as_json) as progress:
        try:
            result = start_run(
                settings, request, seed=run_seed, listener=progress, on_created=created.append
            )
        except KeyboardInterrupt:
            hint = f"; resume with: storyviz resume {created[0].run_id}" if created else ""
            raise _fail(f"interrupted{hint}", EXIT_INTERRUPTED) from None
    exported = _export_finished(result, formats)
    _print_outcome(result, as_json)
    for path in exported:
        echo(f"exported:   {path}", err=as_json)


def _export_finished(result: RunOutcome, formats: list[str]) -> list[Path]:
    if not formats:
        return []
    if result.status != "completed":
        echo(f"storyviz: warning: not exported: the run is {result.status}", err=True)
        return []
    from storyviz.exports.command import export_finished

    return export_finished(Path(result.run_dir), formats)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `storyviz runs`).")],
    runs_dir: RunsDir = None,
    planner: PlannerOpt = None,
    generator: GeneratorOpt = None,
    auditor: AuditorOpt = None,
    repairer: RepairerOpt = None,
    max_llm_calls: MaxLLMCallsOpt = None,
    as_json: JsonFlag = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Continue an interrupted run where it stopped, without redoing finished panels."""
    from storyviz.importing import bulk_import

    with bulk_import():
        from storyviz.agents.runner import resume_run
        from storyviz.run_store import RunStore

    from storyviz.config import recorded_settings

    base = _settings(runs_dir=runs_dir)
    manifest = RunStore(base.runs_dir).open(run_id).manifest()
    given: dict[str, Any] = {
        "planner": planner,
        "generator": generator,
        "auditor": auditor,
        "repairer": repairer,
        "max_llm_calls": max_llm_calls,
    }
    settings = recorded_settings(manifest.config, base.runs_dir, given, "run")
    with _progress_display(quiet or as_json) as progress:
        try:
            result = resume_run(settings, run_id, listener=progress)
        except KeyboardInterrupt:
            raise _fail(
                f"interrupted; resume with: storyviz resume {run_id}", EXIT_INTERRUPTED
            ) from None
    _print_outcome(result, as_json)


@app.command()
def batch(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Story text files, one story each.")
    ] = None,
    vistorybench: Annotated[
        Path | None,
        typer.Option(
            "--vistorybench", help="A ViStoryBench dataset folder (ViStory/).", parser=_named_path
        ),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="ViStoryBench split: full or lite.")
    ] = "full",
    stories: Annotated[
        str | None, typer.Option("--stories", help="ViStoryBench story numbers, e.g. 01,05.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="ViStoryBench language: en or ch.")] = "en",
    method: Annotated[
        str, typer.Option("--method", help="Method name in the ViStoryBench output tree.")
    ] = "storyviz",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where the ViStoryBench output tree goes [default: inside the batch folder].",
            parser=_named_path,
        ),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="local or ray.")] = "local",
    workers: Annotated[
        int | None, typer.Option("--workers", help="Local engine: stories at once [default: CPUs].")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray engine: cluster address, e.g. auto [default: local]."),
    ] = None,
    actors: Annotated[
        int | None,
        typer.Option("--actors", help="Ray engine: render actors [default: one per GPU]."),
    ] = None,
    actor_resource: Annotated[
        str,
        typer.Option("--actor-resource", help="Ray engine: the resource one actor holds."),
    ] = "GPU",
    resume_id: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted batch.")
    ] = None,
    runs_dir: RunsDir = None,
    planner: PlannerOpt = None,
    generator: GeneratorOpt = None,
    auditor: AuditorOpt = None,
    repairer: RepairerOpt = None,
    panels: Annotated[
        int | None, typer.Option("--panels", help="Panels per story (default: auto).")
    ] = None,
    style: Annotated[str | None, typer.Option("--style", help="Art style for every panel.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for every story.")] = None,
    max_rounds: Annotated[
        int | None, typer.Option("--max-rounds", help="Repair rounds per story [default: 3].")
    ] = None,
    max_llm_calls: MaxLLMCallsOpt = None,
    as_json: JsonFlag = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live status.")] = False,
) -> None:
    """Draw many stories: each an ordinary run, together a batch folder with an index."""
    from storyviz.importing import bulk_import

    with bulk_import():
        from storyviz import cli_batch
        from storyviz.batch.folder import BatchFolder
        from storyviz.batch.runner import run_batch
        from storyviz.config import recorded_settings

    batch_engine = cli_batch.make_engine(
        engine, workers=workers, address=address, actors=actors, actor_resource=actor_resource
    )
    given: dict[str, Any] = {
        "planner": planner, "generator": generator, "auditor": auditor, "repairer": repairer,
        "panels": panels, "style": style, "seed": seed, "max_rounds": max_rounds,
        "max_llm_calls": max_llm_calls,
    }  # fmt: skip
    if resume_id is not None:
        if files or vistorybench is not None:
            raise _fail("--resume continues a batch as it was made: give no stories with it")
        base = _settings(runs_dir=runs_dir)
        folder = BatchFolder.open(base.runs_dir, resume_id)
        folder.lock.check_free()
        settings = recorded_settings(folder.manifest().config, base.runs_dir, given, "batch")
    else:
        settings = _settings(runs_dir=runs_dir, **given)
        sources = cli_batch.Sources(
            files=list(files or []), vistorybench=vistorybench, split=split, stories=stories,
            lang=lang, method=method, out=out,
        )  # fmt: skip
        jobs = cli_batch.jobs_for(sources)
        folder = cli_batch.new_batch(settings, jobs, batch_engine, sources)
    result = run_batch(folder, settings, batch_engine, show=not (quiet or as_json))
    counts = result.summary["counts"]
    if as_json:
        echo(json.dumps(result.as_json()))
    else:
        echo(
            f"{result.status}: {counts['completed']} of {counts['stories']} stories completed, "
            f"{counts['failed']} failed, {result.summary['panels_drawn']} panel versions in "
            f"{result.summary['seconds']:.1f} s"
        )
        for story in result.failed:
            echo(f"  {story.key}: {story.status}: {story.error or 'not finished'}")
        echo(f"batch folder: {result.folder}")
        echo(f"index:        {result.folder / 'index.html'}")
    if result.status == "interrupted":
        raise _fail(
            f"interrupted; resume with: storyviz batch --resume {result.batch_id}", EXIT_INTERRUPTED
        )
    if result.failed:
        raise typer.Exit(1)


@app.command("runs")
def list_runs(runs_dir: RunsDir = None, as_json: JsonFlag = False) -> None:
    """List runs, newest first."""
    from storyviz.run_store import Run, RunStore

    store = RunStore(_settings(runs_dir=runs_dir).runs_dir)
    rows: list[dict[str, Any]] = []
    for m in store.list():
        status = m.status
        if status == "running" and Run.writer_pid_of(store.root / m.run_id) is None:
            status = "interrupted"  # nobody holds its lock: the writer was killed
        story = " ".join(m.request.story.split())
        rows.append(
            {
                "run_id": m.run_id,
                "status": status,
                "panels": m.panels,
                "consistency_index": m.consistency_index,
                "created_at": m.created_at,
                "story": story[:60] + ("..." if len(story) > 60 else ""),
            }
        )
    if as_json:
        echo(json.dumps(rows))
        return
    if not rows:
        echo(f"no runs in {store.root}")
        return
    width = max(len(r["run_id"]) for r in rows)
    echo(f"{'RUN ID':<{width}}  {'STATUS':<11}  {'PANELS':>6}  {'CI':>5}  {'CREATED':<16}  STORY")
    for r in rows:
        ci = "" if r["consistency_index"] is None else f"{r['consistency_index']:.3f}"
        echo(
            f"{r['run_id']:<{width}}  {r['status']:<11}  {r['panels']:>6}  {ci:>5}  "
            f"{r['created_at'][:16].replace('T', ' '):<16}  {r['story']}"
        )


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="The run whose report to show.")],
    runs_dir: RunsDir = None,
) -> None:
    """Print the path of a run's report.html (writing it first if the run never got that far)."""
    from storyviz.run_store import RunStore

    run = RunStore(_settings(runs_dir=runs_dir).runs_dir).open(run_id)
    if not run.report_path.exists():
        from storyviz.report import build_report

        run.write_text(run.report_path.name, build_report(run.dir))
    echo(str(run.report_path.resolve()))


@app.command()
def export(
    run_id: Annotated[str, typer.Argument(help="The finished run to export.")],
    fmt: Annotated[str, typer.Option("--format", "-F", help="pdf, cbz, webtoon or png.")] = "pdf",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File (pdf, cbz) or folder [default: RUN/exports/].",
            parser=_named_path,
        ),
    ] = None,
    runs_dir: RunsDir = None,
    page_size: Annotated[
        str | None,
        typer.Option("--page-size", help="PDF paper: A4, Letter, B5, square or e.g. 210x297mm."),
    ] = None,
    author: Annotated[str | None, typer.Option("--author", help="Author metadata.")] = None,
    width: Annotated[
        int | None, typer.Option("--width", help="Webtoon strip width in pixels [default: 800].")
    ] = None,
) -> None:
    """Export a finished run as a PDF, a CBZ comic archive, a webtoon strip or PNG pages."""
    from storyviz.exports.command import export_by_id

    written = export_by_id(
        run_id, fmt, _settings(runs_dir=runs_dir).runs_dir, out,
        page_size=page_size, author=author, width=width,
    )  # fmt: skip
    for path in written:
        echo(str(path))


@app.command("eval")
def eval_runs(
    run_ids: Annotated[
        list[str], typer.Argument(help="Runs (or with --batch, batches) to evaluate, side by side.")
    ],
    runs_dir: RunsDir = None,
    embedder: Annotated[
        str | None,
        typer.Option(
            "--embedder",
            help="clip:MODEL[?pretrained=..], dino:MODEL_OR_PATH or pixel [default: pixel].",
        ),
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option("--detector", help="OWLv2 hub id or folder that counts figures on stage."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option("--judge", help="Prompt-alignment judge, e.g. vlm:openai:gpt-4.1-mini."),
    ] = None,
    batches: Annotated[
        bool,
        typer.Option("--batch", help="The ids are batches: score every story, mean per batch."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Score runs with ViStoryBench-style metrics; write each run's eval.json."""
    from storyviz.cli_eval import evaluate, print_tables

    if batches:
        from storyviz.batch.evaluation import evaluate_batches, print_batch_tables

        found = evaluate_batches(
            run_ids, _settings(runs_dir=runs_dir).runs_dir, embedder=embedder, detector=detector,
            judge=judge,
        )  # fmt: skip
        if as_json:
            echo(json.dumps(found))
        else:
            print_batch_tables(found)
        return
    results = evaluate(
        run_ids, _settings(runs_dir=runs_dir).runs_dir, embedder=embedder, detector=detector,
        judge=judge,
    )  # fmt: skip
    if as_json:
        echo(json.dumps(results))
        return
    print_tables(results)


@app.command()
def chat(
    thread: Annotated[
        str | None,
        typer.Option("--thread", help="Conversation to start or resume [default: a new one]."),
    ] = None,
    runs_dir: RunsDir = None,
    planner: PlannerOpt = None,
    generator: GeneratorOpt = None,
    auditor: AuditorOpt = None,
    repairer: RepairerOpt = None,
    panels: Annotated[
        int | None, typer.Option("--panels", help="Number of panels (default: auto).")
    ] = None,
    style: Annotated[str | None, typer.Option("--style", help="Art style for every panel.")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for every random choice.")
    ] = None,
) -> None:
    """Make a comic by conversation: approve the plan, then ask for changes in plain words."""
    from storyviz.cli_chat import run_chat

    code = run_chat(
        thread, runs_dir=runs_dir, planner=planner, generator=generator, auditor=auditor,
        repairer=repairer, panels=panels, style=style, seed=seed,
    )  # fmt: skip
    raise typer.Exit(code)


@app.command()
def studio(
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on; another than 127.0.0.1 wants --auth."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 7860,
    auth: Annotated[
        str | None,
        typer.Option(
            "--auth",
            help="USER:PASSWORD the page asks for (or USER with STORYVIZ_STUDIO_PASSWORD set).",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Drawings at once across all sessions.")
    ] = 1,
    runs_dir: RunsDir = None,
    planner: PlannerOpt = None,
    generator: GeneratorOpt = None,
    auditor: AuditorOpt = None,
    repairer: RepairerOpt = None,
) -> None:
    """Make comics in the browser: story, plan, drawing, pages, exports and history in one page."""
    from storyviz.cli_studio import run_studio

    code = run_studio(
        host=host, port=port, auth=auth, runs_dir=runs_dir, draw_limit=concurrency,
        planner=planner, generator=generator, auditor=auditor, repairer=repairer,
    )  # fmt: skip
    raise typer.Exit(code)


@app.command()
def backends() -> None:
    """List the backends each role can use, installed plugins' included (docs/plugins.md)."""
    from storyviz.backend_plugins import listing

    rows, warnings = listing()
    role = None
    for row in rows:
        if row.role != role:
            role = row.role
            echo(f"{role}:")
        if row.entry is None:
            echo(f"  {row.name:<14} BROKEN: {row.problem}")
            continue
        notes = [f"extra: {row.entry.extra}"] if row.entry.extra else []
        if row.entry.plugin:
            notes.append(f"plugin: {row.entry.origin}")
        tail = "".join(f" [{note}]" for note in notes)
        echo(f"  {row.name:<14} {row.entry.summary}{tail}")
    for warning in warnings:
        echo(f"storyviz: warning: {warning}", err=True)


def main() -> None:
    """Entry point. Errors become one line on stderr in the app's group (storyviz/cli_errors.py),
    so that typer's CliRunner sees them the same way."""
    clean_logging()
    try:
        app(prog_name="storyviz")
    except KeyboardInterrupt:
        echo("storyviz: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
