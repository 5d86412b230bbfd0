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


class WriterBusyError(RunStoreError):
    """Another live process is writing this run folder or chat thread; one writer at a time."""


class ProviderError(StoryvizError):
    """A language or vision model service failed after its retries (network, 5xx, timeout)."""


class ProviderAuthError(ProviderError):
    """The service refused the credentials; the message names the environment variable to set."""


class RefusalError(ProviderError):
    """The model declined to answer (a safety refusal), reported as such rather than retried."""


class ModelOutputError(StoryvizError):
    """A model's answer could not be used: not JSON, not the schema, or semantically wrong.

    `raw` keeps the answer and `problems` the reasons, so a caller can send both back to the
    model and ask again.
    """

    def __init__(self, message: str, *, raw: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.problems = problems or [message]


class DeadlineReached(ModelOutputError):
    """Planning ran out of the time its backend string gave it (``?deadline=``) before the
    model's answer was right; `problems` are what was still wrong when time ran out."""


class BudgetExceededError(StoryvizError):
    """The run's --max-llm-calls budget is spent; the run stops cleanly and can be resumed."""


class RunCancelled(StoryvizError):
    """The person asked the drawing to stop (the studio's cancel button). The run is stopped as
    interrupted, not failed: its folder keeps what was drawn and `storyviz resume` continues it."""
