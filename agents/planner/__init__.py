"""Planners: a story request in, a StoryPlan out.

- ``rules/``: the offline planner, which reads the story by rules (no model, no network);
- ``llm/``: the model-backed planner and its schemas, checks and retries;
- ``edit/``: plan edits, the diff chat sessions redraw from and the offline edit rules.
"""
