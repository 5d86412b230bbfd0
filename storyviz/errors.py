"""Errors a user can act on.

Anything raised as a StoryvizError is printed by the CLI as one line and exits non-zero;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class StoryvizError(Exception):
    """A problem with the user's input, configuration or environment, explained in one line."""

    exit_code = 2


class InputError(StoryvizError):
    """The story request or a command-line value is unusable."""


class BackendError(StoryvizError):
    """A backend string cannot be parsed, is unknown, or its backend cannot be built."""


class ConfigError(StoryvizError):
    """storyviz.toml or a STORYVIZ_* variable holds a value that does not fit."""


class RunNotFoundError(StoryvizError):
    """A run id names no run folder."""


class RunStoreError(StoryvizError):
    """The runs directory cannot be written or a run folder is damaged."""
