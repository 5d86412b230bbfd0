"""storyviz studio: the web front end (Gradio) of a chat session.

`page.py` is the only module that imports gradio; the rest is plain Python a test drives without a
browser: `workbench.py` (one browser session's work on one chat thread), `plan_cells.py` (the
plan's editable tables), `run_view.py` (what a run folder shows), `launch.py` (how it is served).
"""
