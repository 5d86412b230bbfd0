"""`storyviz studio`: check the flags, then serve the studio page until Ctrl-C.

Everything that can be wrong with the command line (a bad --auth, an unknown backend, a port in
use, gradio not installed) is one line and exit 2 before or instead of serving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storyviz import registry
from storyviz.config import load_settings
from storyviz.errors import InputError, StoryvizError
from storyviz.importing import bulk_import
from storyviz.terminal_text import echo

STUDIO_EXTRA = 'the studio needs Gradio: pip install "storyviz[studio]"'


def run_studio(
    *,
    host: str,
    port: int,
    auth: str | None,
    runs_dir: Path | None,
    draw_limit: int,
    **flags: Any,
) -> int:
    from storyviz.studio.launch import ServeOptions, launch_kwargs, parse_auth, prepare_environment

    if not 1 <= port <= 65535:
        raise InputError(f"--port must be between 1 and 65535, got {port}")
    if draw_limit < 1:
        raise InputError(f"--concurrency must be 1 or more, got {draw_limit}")
    options = ServeOptions(host=host, port=port, auth=parse_auth(auth), draw_limit=draw_limit)
    fixed = {k: v for k, v in flags.items() if v is not None}
    settings = load_settings(runs_dir=runs_dir, **fixed)
    for role in registry.ROLES:  # a mistyped backend fails now, not at the first story
        registry.resolve(role, getattr(settings, role))
    prepare_environment(settings.runs_dir)
    with bulk_import():
        try:
            import gradio  # noqa: F401 - only to fail early, naming the extra
        except ImportError:
            raise InputError(STUDIO_EXTRA) from None
        from storyviz.studio.page import build_page

    page = build_page(settings, fixed, draw_limit=options.draw_limit)
    for warning in options.warnings():
        echo(f"storyviz: warning: {warning}", err=True)
    shown_host = f"[{host}]" if ":" in host else host
    echo(
        f"storyviz studio on http://{shown_host}:{port} (runs in {settings.runs_dir}); "
        "Ctrl-C stops it"
    )
    try:
        page.launch(**launch_kwargs(options, settings.runs_dir))
    except OSError as exc:
        raise StoryvizError(f"cannot serve on {host}:{port}: {exc}") from None
    return 0
