"""Settings come from defaults < storyviz.toml < STORYVIZ_* < flags, and bad values say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyviz.config import load_settings
from storyviz.errors import BackendError, ConfigError


def test_defaults_are_the_offline_backends() -> None:
    s = load_settings()
    assert (s.planner, s.generator, s.auditor, s.repairer) == (
        "offline",
        "sketch",
        "offline",
        "offline",
    )
    assert s.runs_dir == Path("runs")


def test_precedence_toml_then_env_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "storyviz.toml").write_text(
        'generator = "sketch?drift=0.2"\nmax_rounds = 5\nseed = 3\n'
    )
    s = load_settings()
    assert (s.generator, s.max_rounds, s.seed) == ("sketch?drift=0.2", 5, 3)
    monkeypatch.setenv("STORYVIZ_MAX_ROUNDS", "7")
    assert load_settings().max_rounds == 7
    assert load_settings(max_rounds=1).max_rounds == 1
    assert load_settings(max_rounds=None).max_rounds == 7  # None means "flag not given"


def test_config_file_can_be_named_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text("threshold = 0.5\n")
    monkeypatch.setenv("STORYVIZ_CONFIG", str(cfg))
    assert load_settings().threshold == 0.5
    monkeypatch.setenv("STORYVIZ_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_bad_values_give_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="max_rounds"):
        load_settings(max_rounds=-1)
    monkeypatch.setenv("STORYVIZ_THRESHOLD", "high")
    with pytest.raises(ConfigError, match="threshold"):
        load_settings()
    monkeypatch.delenv("STORYVIZ_THRESHOLD")
    (tmp_path / "storyviz.toml").write_text("max_rounds = \n")
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_settings()
    (tmp_path / "storyviz.toml").write_text("colour = 'red'\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings()


def test_malformed_backend_in_settings_is_a_backend_error() -> None:
    with pytest.raises(BackendError):
        load_settings(generator="sketch?drift")


def test_redacted_config_hides_secret_options() -> None:
    s = load_settings(planner="offline?api_key=sk-secret")
    assert "sk-secret" not in str(s.redacted())
