"""Starting and resuming runs: backends built, run folder made, graph invoked, status recorded.

Backends are built before a run folder exists, so a mistyped backend leaves nothing behind. Once
the folder exists its manifest always says what happened: running, completed, failed (with the
error) or interrupted; a run killed outright still says running, with a pid that no longer lives,
and `storyviz runs` shows it as interrupted.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from storyviz import registry
from storyviz.agents.context import Backends
from storyviz.config import Settings
from storyviz.errors import BudgetExceededError, RunCancelled, StoryvizError
from storyviz.importing import bulk_import
from storyviz.metering import CallMeter, LLMCall, Metered, llm_costs
from storyviz.redaction import redact
from storyviz.run_store import REPORT_FILE, Run, RunStore
from storyviz.schemas import PanelVersion, RunEvent, RunManifest, StoryPlan, StoryRequest

EventListener = Callable[[RunEvent], None]

_VERSIONED_PACKAGES = ("storyviz", "langgraph", "pydantic", "pillow", "numpy")


@dataclass
class CarriedVersion:
    """A panel version made elsewhere (an earlier run of a chat session) that a new run keeps."""

    image: Path
    version: PanelVersion  # its path is rewritten to the copy in the new run


@dataclass
class RunSeed:
    """What a run starts from instead of nothing: a plan that is not planned again (a chat's
    approved plan, a ViStoryBench story), reference images that are not drawn again, and panel
    versions that are not rendered again. Everything is copied into the new run folder, so the
    run stays self-contained and its report shows where each piece came from."""

    plan: StoryPlan | None = None
    references: dict[str, Path] = field(default_factory=dict)  # character id -> image
    panels: dict[str, list[CarriedVersion]] = field(default_factory=dict)  # panel id -> versions
    chosen: dict[str, int] = field(default_factory=dict)  # panel id -> carried version picked


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    status: str
    panels: int
    consistency_index: float | None
    rounds: int
    findings: int
    repairs: int
    report: Path | None

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "status": self.status,
            "panels": self.panels,
            "consistency_index": self.consistency_index,
            "rounds": self.rounds,
            "findings": self.findings,
            "repairs": self.repairs,
            "report": str(self.report) if self.report else None,
        }


def build_backends(settings: Settings) -> Backends:
    return Backends(
        planner=registry.build("planner", settings.planner),
        generator=registry.build("generator", settings.generator),
        auditor=registry.build("auditor", settings.auditor),
        repairer=registry.build("repairer", settings.repairer),
    )


def package_versions() -> dict[str, str]:
    import platform

    found = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def initial_state(settings: Settings, request: StoryRequest) -> dict[str, Any]:
    return {
        "request": request.model_dump(mode="json"),
        "limits": {
            "threshold": settings.threshold,
            "max_rounds": settings.max_rounds,
            "max_attempts": settings.max_attempts,
            "panel_size": settings.panel_size,
            "seed": request.seed,
        },
        "versions": {},
        "rounds": [],
        "timings": {},
    }


def start_run(
    settings: Settings,
    request: StoryRequest,
    *,
    seed: RunSeed | None = None,
    backends: Backends | None = None,
    listener: EventListener | None = None,
    on_created: Callable[[Run], None] | None = None,
) -> RunOutcome:
    """Turn one story into a comic in a new run folder: plan, draw, audit, repair, compose,
    report. The Python API behind ``storyviz run``; it returns when the run has ended.

    Takes:
        settings: where runs go (``runs_dir``), the planner, generator, auditor and repairer
            backend strings, and the run's limits (threshold, repair rounds, attempts, panel
            size, concurrency, LLM-call budget); `storyviz.config.load_settings` makes them.
        request: the story and what is asked of it (panel count, style, reading order, page
            size, seed, language, title); validated when it is built.
        seed: a start other than nothing (`RunSeed`): a plan that is not planned again,
            reference images and panel versions that are not drawn again, all copied in.
        backends: backends already built (a chat session keeps its own); by default they are
            built from `settings` before any folder exists, so a mistyped one leaves nothing.
        listener: called with every `RunEvent` as it is recorded (progress on a terminal).
        on_created: called with the `Run` once its folder exists, before anything is drawn.

    Returns a `RunOutcome`: the run id and folder, its status (``"completed"``), the number of
    panels, the consistency index, repair rounds, findings and repairs made, and the report's
    path; ``as_json()`` is the summary ``storyviz run --json`` prints.

    Raises, leaving no folder: `BackendError` for a backend string that does not build (a
    `ProviderAuthError` where a model service has no key), `StoryvizError` for a seed that names
    what its plan lacks or an image it cannot find, `RunStoreError` when ``runs_dir`` cannot be
    written. Once the folder exists, a failure is recorded in its manifest with a report of
    what was made, then raised as it was: ``"interrupted"`` for KeyboardInterrupt and
    `BudgetExceededError`, ``"failed"`` for any other error (`ProviderError`,
    `ModelOutputError`, a generator's exception, ...); `resume_run` continues such a run.

    The run folder, ``<runs_dir>/<run_id>/`` (`storyviz.run_layout` names its files):
    manifest.json (status, backends, package versions, prompt hashes, costs), request.json,
    plan.json, events.jsonl (every step, timed), audit.json (every version's findings and
    scores), panels/<panel>_v<N>.png (every version drawn), references/<character>.png,
    masks/ (inpainting repairs), journal/ (each finished drawing, so a resume keeps it),
    pages/page_<NN>.png, report.html, and checkpoint.sqlite (the graph state `resume_run`
    starts from).

    Example::

        from storyviz.agents.runner import start_run
        from storyviz.config import load_settings
        from storyviz.schemas import StoryRequest

        settings = load_settings(runs_dir="runs")  # offline backends unless configured
        outcome = start_run(settings, StoryRequest(story="Mia finds a dog.", seed=7))
        print(outcome.status, outcome.report)  # completed runs/<run id>/report.html
    """
    backends = backends or build_backends(settings)
    if seed is not None and seed.plan is not None:
        _check_seed(seed, seed.plan)
    store = RunStore(settings.runs_dir)
    run = store.create(
        request,
        {
            "config": settings.redacted(),
            "backends": backends.specs(),
            "versions": package_versions(),
            "prompt_hashes": backends.prompt_hashes(),
        },
    )
    try:  # the store made the folder locked: this process is its one writer until it returns
        if on_created:
            on_created(run)
        if listener:
            run.subscribe(listener)
        run.emit("started", "run", detail={"run_id": run.run_id, "backends": backends.specs()})
        state = initial_state(settings, request)
        if seed is not None:
            state.update(_seeded_state(run, seed))
        return _execute(run, settings, backends, state, fresh=True)
    finally:
        run.unlock()


def _check_seed(seed: RunSeed, plan: StoryPlan) -> None:
    """Fail before a run folder exists when the seed names what its plan lacks."""
    characters = {c.id for c in plan.characters}
    panels = {p.id for p in plan.panels}
    unknown = sorted(set(seed.references) - characters) + sorted(set(seed.panels) - panels)
    if unknown:
        raise StoryvizError(f"the run seed names what its plan does not have: {', '.join(unknown)}")
    for path in [*seed.references.values(), *(c.image for vs in seed.panels.values() for c in vs)]:
        if not Path(path).is_file():
            raise StoryvizError(f"the run seed's image {path} does not exist")
    for panel_id, number in seed.chosen.items():
        if all(c.version.version != number for c in seed.panels.get(panel_id, [])):
            raise StoryvizError(f"the run seed picks {panel_id} v{number}, which it does not carry")


def _seeded_state(run: Run, seed: RunSeed) -> dict[str, Any]:
    """The parts of the initial state a seed fills, with its images copied into ``run``."""
    from PIL import Image

    state: dict[str, Any] = {}
    if seed.plan is not None:
        state["plan"] = seed.plan.model_dump(mode="json")
    references: dict[str, str] = {}
    for character_id, source in seed.references.items():
        with Image.open(source) as image:
            references[character_id] = run.save_reference(character_id, image.convert("RGB"))
    if references:
        state["references"] = references
    versions: dict[str, list[dict[str, Any]]] = {}
    for panel_id, carried in seed.panels.items():
        for item in sorted(carried, key=lambda c: c.version.version):
            with Image.open(item.image) as image:
                path = run.save_panel(panel_id, item.version.version, image.convert("RGB"))
            record = item.version.model_copy(update={"panel_id": panel_id, "path": path})
            versions.setdefault(panel_id, []).append(record.model_dump(mode="json"))
    if versions:
        state["versions"] = versions
    if seed.chosen:
        state["chosen"] = dict(seed.chosen)
    return state


def resume_run(
    settings: Settings,
    run_id: str,
    *,
    backends: Backends | None = None,
    listener: EventListener | None = None,
) -> RunOutcome:
    """Continue a run from its last checkpoint. No drawing already complete in the run folder
    is drawn again (see `Run.drawn`), and only one process may write the run: a second resume,
    or a resume of a run still being drawn, fails at once naming the writer."""
    run = RunStore(settings.runs_dir).open(run_id)
    run.writer.check_free()  # before building backends (a model load) only to be refused
    manifest = run.manifest()
    if manifest.status == "completed":
        return outcome(run, manifest)
    backends = backends or build_backends(settings)
    run.lock()
    try:
        manifest = run.manifest()  # as the writer left it, now that none can change it
        if manifest.status == "completed":
            return outcome(run, manifest)
        run.remove_leftovers()
        if listener:
            run.subscribe(listener)
        run.update_manifest(status="running", pid=os.getpid(), error=None)
        run.emit(
            "resumed",
            "run",
            detail={"previous_status": manifest.status, "backends": backends.specs()},
        )
        state = initial_state(settings, manifest.request)
        return _execute(run, settings, backends, state, fresh=False)
    finally:
        run.unlock()


def _execute(
    run: Run, settings: Settings, backends: Backends, state: dict[str, Any], *, fresh: bool
) -> RunOutcome:
    SqliteSaver, PipelineContext, build_graph = _import_graph_runtime()
    meter = CallMeter(budget=settings.max_llm_calls)
    meter.subscribe(lambda call: _record_call(run, call))
    for role, backend in backends.by_role().items():
        if isinstance(backend, Metered):
            backend.bind_meter(meter, role)
    if hasattr(backends.generator, "base_dir"):  # generators that read reference images
        backends.generator.base_dir = run.dir  # references are stored run-relative
    _bind_planner(run, backends.planner)
    if hasattr(backends.generator, "progress"):  # generators that report denoising steps
        backends.generator.progress = lambda step, total: run.notify(
            "denoise", "render", detail={"step": step, "total": total}
        )
    context = PipelineContext.for_run(
        backends, run, threading.BoundedSemaphore(settings.max_concurrency)
    )
    config: dict[str, Any] = {
        "configurable": {"thread_id": run.run_id},
        "recursion_limit": 16 + 4 * (settings.max_rounds + 1),
    }
    try:
        with closing(sqlite3.connect(run.checkpoint_path, check_same_thread=False)) as conn:
            graph = build_graph().compile(checkpointer=SqliteSaver(conn))
            started = not fresh and graph.get_state(config).created_at is not None
            # Durability "sync" writes each step's checkpoint before the next starts, and every
            # finished render task's result as it lands: a kill loses at most the renders in flight.
            graph.invoke(None if started else state, config, context=context, durability="sync")
    except KeyboardInterrupt:
        _stop(run, "interrupted", "interrupted by the user")
        raise
    except (BudgetExceededError, RunCancelled) as exc:
        _stop(run, "interrupted", str(exc))
        raise
    except StoryvizError as exc:
        _stop(run, "failed", str(exc))
        raise
    except Exception as exc:
        _stop(run, "failed", f"{type(exc).__name__}: {exc}")
        raise
    return outcome(run, run.manifest())


def _bind_planner(run: Run, planner: object) -> None:
    """A model planner's salvage warnings become warning events (the CLI prints them, the
    report lists them); its streamed tokens become live progress, not logged."""
    if hasattr(planner, "warn"):
        planner.warn = lambda message: run.emit("warning", "plan", detail={"message": message})
    if hasattr(planner, "progress"):
        planner.progress = lambda purpose, tokens, seconds, most: run.notify(
            "llm_progress",
            "plan",
            detail={
                "purpose": purpose,
                "tokens": tokens,
                "seconds": round(seconds, 2),
                "most": most,
            },
        )


def _record_call(run: Run, call: LLMCall) -> None:
    detail = {k: v for k, v in call.as_dict().items() if k not in ("role", "seconds")}
    run.emit("llm_call", call.role, seconds=call.seconds, detail=detail)


def _stop(run: Run, status: str, error: str) -> None:
    """Record why a run stopped, with the model calls it made, and report what it has."""
    costs = run.manifest().costs.model_dump()
    costs.update(llm_costs(run.events()))
    run.update_manifest(status=status, error=redact(error), costs=costs)  # may quote a URL
    _try_report(run)


def _import_graph_runtime() -> tuple[Any, Any, Any]:
    with bulk_import():  # about 1.5 s, most of an offline run
        from langgraph.checkpoint.sqlite import SqliteSaver

        from storyviz.agents.context import PipelineContext
        from storyviz.agents.graph import build_graph
    return SqliteSaver, PipelineContext, build_graph


def _try_report(run: Run) -> None:
    """A failed run still gets a report of what it made; a failing report hides no cause."""
    try:
        from storyviz.report import build_report

        run.write_text(REPORT_FILE, build_report(run.dir))
    except Exception:  # noqa: BLE001 - the original error is the one to surface
        return


def outcome(run: Run, manifest: RunManifest) -> RunOutcome:
    return RunOutcome(
        run_id=run.run_id,
        run_dir=run.dir,
        status=manifest.status,
        panels=manifest.panels,
        consistency_index=manifest.consistency_index,
        rounds=manifest.rounds,
        findings=manifest.findings,
        repairs=manifest.repairs,
        report=run.report_path if run.report_path.exists() else None,
    )
