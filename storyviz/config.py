"""Settings, from defaults < storyviz.toml < STORYVIZ_* environment variables < command-line flags.

One object holds everything a run needs to be reproduced; its redacted form is written to the
manifest, so a run folder says how it was made without leaking a secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from storyviz.errors import ConfigError, InputError
from storyviz.redaction import MASK, is_secret_name
from storyviz.registry import ROLES, BackendSpec, parse_backend
from storyviz.schemas import PageSize, ReadingOrder, StoryRequest
from storyviz.validation_errors import describe_validation_error

CONFIG_FILE_ENV = "STORYVIZ_CONFIG"
DEFAULT_CONFIG_FILE = "storyviz.toml"


class Settings(BaseSettings):
    """Everything configurable about a run."""

    # allow_inf_nan: "nan" and "inf" parse as floats, and NaN slips past ge/le bounds in the
    # messages pydantic gives ("should be >= 0" for nan); refuse them as not finite instead.
    model_config = SettingsConfigDict(
        env_prefix="STORYVIZ_",
        extra="forbid",
        validate_default=True,
        toml_file=None,
        allow_inf_nan=False,
    )

    runs_dir: Path = Path("runs")
    planner: str = "offline"
    generator: str = "sketch"
    auditor: str = "offline"
    repairer: str = "offline"
    panels: int | None = None  # validated with the request, so the limit has one message
    style: str = "storyboard sketch"
    seed: int = Field(default=0, ge=0, lt=2**32)
    reading_order: ReadingOrder = "ltr"
    page_size: PageSize = "A4"
    panel_size: int = Field(default=512, ge=64, le=4096, description="long side of a render, px")
    max_rounds: int = Field(
        default=3, ge=0, le=20, description="repair rounds after the first audit"
    )
    max_attempts: int = Field(default=2, ge=1, le=20, description="repairs per panel")
    threshold: float = Field(
        default=0.8, ge=0.0, le=1.0, description="panel score below which it is repaired"
    )
    max_concurrency: int = Field(default=4, ge=1, le=64, description="panels rendered at once")
    max_llm_calls: int | None = Field(
        default=None, ge=0, description="stop the run cleanly once this many model calls are made"
    )
    fonts: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="lettering font files tried first (STORYVIZ_FONTS: paths joined by os.pathsep)",
    )
    font_discovery: bool = Field(
        default=True, description="also letter with system fonts found on disk (DejaVu, Noto CJK)"
    )

    @field_validator("runs_dir", mode="before")
    @classmethod
    def _runs_dir_named(cls, v: Any) -> Any:
        """An empty setting would be Path(""), the current directory: never what was meant."""
        if isinstance(v, str | Path) and not str(v).strip():
            raise ValueError("the runs directory is empty: name a folder, or leave it unset")
        return v

    @field_validator("planner", "generator", "auditor", "repairer")
    @classmethod
    def _parses(cls, v: str) -> str:
        parse_backend(v)  # raises BackendError with a clear message
        return v

    @field_validator("fonts", mode="before")
    @classmethod
    def _split_fonts(cls, v: Any) -> Any:
        """An environment variable holds a path list the way PATH does."""
        if isinstance(v, str):
            return [part for part in v.split(os.pathsep) if part.strip()]
        return v

    @field_validator("fonts")
    @classmethod
    def _fonts_exist(cls, v: list[Path]) -> list[Path]:
        for path in v:
            if not path.expanduser().is_file():
                raise ValueError(f"{path} is not a font file")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        elif CONFIG_FILE_ENV in os.environ:
            raise ConfigError(f"{CONFIG_FILE_ENV} names {toml_path}, which is not a file")
        return tuple(sources)

    def backend(self, role: str) -> BackendSpec:
        return parse_backend(getattr(self, role))

    def story_request(self, story: str) -> StoryRequest:
        """The request for ``story`` with what these settings ask of every story (panel
        count, style, seed, reading order, page size): `storyviz run` and each batch story."""
        return StoryRequest(
            story=story,
            panels=self.panels,
            style=self.style,
            seed=self.seed,
            reading_order=self.reading_order,
            page_size=self.page_size,
        )

    def redacted(self) -> dict[str, Any]:
        """The settings as JSON-ready data with secret-looking values hidden."""
        data = self.model_dump(mode="json")
        for key in list(data):
            if is_secret_name(key) and data[key]:
                data[key] = MASK
        for role in ROLES:
            data[role] = parse_backend(data[role]).redacted()
        return data


def load_settings(**overrides: Any) -> Settings:
    """Settings with the given overrides (flags) on top; None means 'not given'."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except ValueError as exc:  # a malformed storyviz.toml
        raise ConfigError(f"cannot read the configuration: {exc}") from None


def recorded_settings(
    recorded: dict[str, Any], runs_dir: Path, given: dict[str, Any], what: str
) -> Settings:
    """The settings a run or batch recorded (its manifest's ``config``), under ``runs_dir``,
    with the flags given now on top. A backend recorded with a secret option (masked in the
    manifest) must be given again: ``what`` names the thing in that one-line error."""
    kept = {k: v for k, v in recorded.items() if k != "runs_dir"}
    for role in ROLES:
        if given.get(role) is None and MASK in str(kept.get(role, "")):
            raise InputError(
                f"the {what}'s {role} backend had a secret option; give it again: --{role}"
            )
    overrides = {k: v for k, v in given.items() if v is not None}  # flags given win
    return load_settings(**{**kept, "runs_dir": runs_dir, **overrides})
