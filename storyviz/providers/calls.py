"""What every model client does around one call, whatever its SDK.

- `metered_call`: claim the budget before sending, record an LLMCall after, failures included,
  so the manifest's costs and the budget see every call a run made.
- `validate_answer`: turn an answer's text into the caller's pydantic object, or a
  ModelOutputError that keeps the raw text and a list of problems a planner can send back.
- `safe_message`: one line, bounded, with the API key and URL credentials scrubbed, because
  provider error bodies end up in run folders, event logs and terminals.

Imports no SDK: both the OpenAI and the Gemini clients build on it.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from storyviz.errors import ModelOutputError, ProviderError, StoryvizError
from storyviz.metering import CallMeter, LLMCall
from storyviz.redaction import redact
from storyviz.registry import BackendSpec
from storyviz.validation_errors import problem_line

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 300
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 3600.0  # seconds per call
MAX_RETRIES = 10  # with backoff, ten retries already wait minutes
MAX_IMAGES = 100  # per call; the services take fewer (OpenAI edits 16)
MAX_TEMPERATURE = 2.0  # the top of both services' range


def safe_message(text: object, *secrets: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` on one line, at most `limit` characters, with every secret replaced by ***, and
    URL userinfo and secret-looking ``name=value`` pairs masked (an SDK's message may quote
    the URL it called)."""
    line = " ".join(str(text).split())
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    line = redact(line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def warn_if_key_in_clear(spec: str, url: str, key_env: str | None) -> bool:
    """Warn when a client would send the key from `key_env` unencrypted: over plain http to a
    host that is not this machine, where anyone on the way can read it. The warning goes
    through logging, as the auditors' notes do, so a terminal shows it as one line on stderr
    (logging's last-resort handler) and an application can route it. True when it warned."""
    parts = urlsplit(url)
    if not key_env or parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return False
    log.warning(
        "storyviz: warning: %s sends the key in %s over plain http to %s, where anyone on the "
        "way can read it; use https:// for a server on another machine",
        spec,
        key_env,
        parts.hostname,
    )
    return True


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def client_options(spec: BackendSpec, *, images: int = 16) -> dict[str, Any]:
    """The connection options every model client takes (``timeout``, ``max_retries``,
    ``images``, ``temperature``), parsed and range-checked once for all of them, so an
    OpenAI and a Gemini backend accept and refuse the same values with the same words."""
    temperature = (
        spec.option("temperature", float, 0.0, low=0.0, high=MAX_TEMPERATURE)
        if "temperature" in spec.options
        else None
    )
    return {
        "timeout": spec.option("timeout", float, 120.0, low=MIN_TIMEOUT, high=MAX_TIMEOUT),
        "max_retries": spec.option("max_retries", int, 3, low=0, high=MAX_RETRIES),
        "images": spec.option("images", int, images, low=1, high=MAX_IMAGES),
        "temperature": temperature,
    }


def retries_text(count: int) -> str:
    """``1 retry``, ``3 retries``: how many times the call was tried again."""
    return f"{count} retry" if count == 1 else f"{count} retries"


def problems_of(exc: ValidationError) -> list[str]:
    """One readable line per validation error: ``panels.0.cast.1.box: Box must ...``; an answer
    that is not JSON at all is said so in words a model can act on."""
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        if error["type"] == "json_invalid":
            why = error.get("ctx", {}).get("error", error["msg"])
            error["msg"] = f"the answer is not valid JSON ({why})"
        problems.append(problem_line(error, whole=""))
    return problems


def validate_answer(schema: type[T], raw: str, *, who: str) -> T:
    """Parse and validate an answer, or raise ModelOutputError carrying `raw` and the problems."""
    try:
        return schema.model_validate_json(raw)
    except ValidationError as exc:
        raise output_error(schema, raw, problems_of(exc), who=who) from None


def output_error(
    schema: type[BaseModel], raw: str, problems: list[str], *, who: str
) -> ModelOutputError:
    """The ModelOutputError for an answer that does not fit `schema`."""
    first = problems[0] if problems else "unusable answer"
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    message = safe_message(f"{who} answered with no valid {schema.__name__}: {first}{more}")
    return ModelOutputError(message, raw=raw, problems=problems)


@dataclass
class CallRecord:
    """Filled in while a call runs; becomes the LLMCall the meter records."""

    started: float = field(default_factory=time.perf_counter)
    input_tokens: int = 0
    output_tokens: int = 0
    images_in: int = 0
    images_out: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 4)


@dataclass
class MeterBinding:
    """The meter and role a client counts its calls under (none until `bind` is called)."""

    meter: CallMeter | None = None
    role: str = ""

    def bind(self, meter: CallMeter, role: str) -> None:
        self.meter = meter
        self.role = role


UNREADABLE: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
)
"""What comes out of a call when the service's body is not the API's JSON: an SDK parses the
body inside its own call and lets its parser's error through, not an SDK error. A truncated or
non-JSON body is a JSONDecodeError, bytes that are not UTF-8 a UnicodeDecodeError (both
ValueErrors, as is pydantic's ValidationError), and JSON of another shape, or a text body the
SDK hands back as a str, a KeyError, TypeError or AttributeError where it is read. The clients
turn their SDK's own errors into StoryvizErrors inside the call, so what is left of these kinds
is the answer's fault; the original stays chained as the cause for a developer."""


def unreadable_answer(backend: str, exc: BaseException, secret: str = "") -> ProviderError:
    """The one-line ProviderError for an answer that could not be read."""
    return ProviderError(
        safe_message(
            f"{backend}: the service's answer cannot be read ({type(exc).__name__}: {exc}); "
            "is the URL an API of this kind, or a proxy's error page?",
            secret,
        )
    )


@contextmanager
def metered_call(
    binding: MeterBinding,
    *,
    backend: str,
    model: str,
    purpose: str,
    secret: str = "",
) -> Iterator[CallRecord]:
    """Reserve one call (BudgetExceededError before anything is sent), then record it.

    Every client sends and reads inside this block, so it is also where an answer that cannot
    be read becomes a ProviderError for all of them (see `UNREADABLE`)."""
    meter = binding.meter
    if meter is not None:
        meter.reserve(binding.role)
    record = CallRecord()
    error: str | None = None
    try:
        yield record
    except StoryvizError as exc:
        error = safe_message(f"{type(exc).__name__}: {exc}", secret)
        raise
    except UNREADABLE as exc:
        mapped = unreadable_answer(backend, exc, secret)
        error = f"{type(mapped).__name__}: {mapped}"
        raise mapped from exc
    except BaseException as exc:
        error = safe_message(f"{type(exc).__name__}: {exc}", secret)
        raise
    finally:
        if meter is not None:
            meter.record(
                LLMCall(
                    role=binding.role,
                    backend=backend,
                    model=model,
                    purpose=purpose,
                    seconds=record.seconds,
                    input_tokens=record.input_tokens,
                    output_tokens=record.output_tokens,
                    images_in=record.images_in,
                    images_out=record.images_out,
                    ok=error is None,
                    error=error,
                    notes=tuple(record.notes),
                )
            )
