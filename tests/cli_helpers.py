"""Running the real `storyviz` entry point in a subprocess, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

STORYVIZ = [sys.executable, "-m", "storyviz"]


def storyviz(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """With `stdin` as bytes, input goes in as given and output comes back byte for byte (no
    newline translation; bytes that are not UTF-8 kept as surrogates), for tests of what
    exactly reaches a terminal."""
    if isinstance(stdin, bytes):
        raw = subprocess.run(
            [*STORYVIZ, *args], capture_output=True, cwd=cwd, env=env, input=stdin,
            timeout=timeout, check=False,
        )  # fmt: skip
        out, err = (b.decode("utf-8", "surrogateescape") for b in (raw.stdout, raw.stderr))
        return subprocess.CompletedProcess(raw.args, raw.returncode, out, err)
    return subprocess.run(
        [*STORYVIZ, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        input=stdin,
        timeout=timeout,
        check=False,
    )


def last_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()  # exactly one line: no blank line before or after it
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("storyviz: error:"), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
