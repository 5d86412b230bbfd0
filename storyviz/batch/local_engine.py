"""``--engine local``: stories drawn concurrently by a bounded pool of worker processes.

Processes, not threads: a story's planning, drawing and auditing are mostly Python, which threads
would serialise. Each worker builds its backends in its own process, so a diffusion model loads
once per worker (keep ``--workers`` at what the accelerator's memory holds; on several GPUs the
Ray engine shares one model per GPU instead). Workers start by ``spawn``: a fresh interpreter
that has inherited no threads or open model handles. A worker that dies takes the pool with it
(Python's process pool breaks as a whole); the unfinished stories go to a new pool and resume
their runs.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from storyviz.batch.engine import OnResult, Tick, died
from storyviz.batch.folder import BatchFolder, VistoryOutput
from storyviz.batch.jobs import StoryJob
from storyviz.batch.story import run_story
from storyviz.config import Settings


def default_workers(stories: int) -> int:
    return max(1, min(os.cpu_count() or 1, stories, 8))


class LocalEngine:
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def options(self) -> dict[str, Any]:
        return {"workers": self.workers}

    def stats(self) -> dict[str, Any]:
        return {"workers": self.workers}

    def run(
        self,
        jobs: Sequence[StoryJob],
        settings: Settings,
        folder: BatchFolder,
        vistory: VistoryOutput | None,
        on_result: OnResult,
        tick: Tick,
    ) -> None:
        self.workers = self.workers or default_workers(len(jobs))
        remaining = list(jobs)
        while remaining:
            remaining = self._pool(remaining, settings, folder, vistory, on_result, tick)

    def _pool(
        self,
        jobs: list[StoryJob],
        settings: Settings,
        folder: BatchFolder,
        vistory: VistoryOutput | None,
        on_result: OnResult,
        tick: Tick,
    ) -> list[StoryJob]:
        """Draw ``jobs`` in one pool; returns those to try again because the pool broke."""
        context = multiprocessing.get_context("spawn")
        again: list[StoryJob] = []
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers or 1, len(jobs)), mp_context=context
        )
        try:
            futures: dict[Future[dict[str, Any]], StoryJob] = {
                pool.submit(run_story, job, settings, str(folder.root), vistory): job
                for job in jobs
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    job = futures[future]
                    try:
                        on_result(future.result())
                    except BrokenProcessPool:
                        final = died(folder, job, "its process ended without a word")
                        if final is None:
                            again.append(job)
                        else:
                            on_result(final)
                tick()
        except BaseException:
            workers = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.terminate()  # a story's worker is stopped; its run says interrupted
            raise
        pool.shutdown(wait=True)
        return again
