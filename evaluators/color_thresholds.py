"""The colour auditor's tuning knobs: ΔE bounds per severity and the evidence of presence.

Defaults, in CIE76 ΔE between a region's median colour and the sheet's colour word:
below 20 is the same colour (red vs crimson 21, red vs scarlet 16, brown vs chestnut 13);
20-40 a shade off (minor: red vs ginger 27, blonde vs golden 26, blue vs purple 30);
40-60 another colour (major: red vs orange 45, blue vs navy 40, red vs pink 53);
60 and beyond a different hue altogether (critical: yellow vs green 71, red vs blue 115).
Override with ``offline?minor=..&major=..&critical=..&presence=..``.
"""

from __future__ import annotations

from dataclasses import dataclass

from storyviz.errors import BackendError
from storyviz.registry import BackendSpec
from storyviz.schemas import Severity

OPTIONS = frozenset({"minor", "major", "critical", "presence"})
MAX_DELTA_E = 400.0  # CIE76 distances between real colours stay below about 375


@dataclass(frozen=True)
class Thresholds:
    """ΔE bounds of each severity, and the share of a figure frame that proves presence."""

    minor: float = 20.0
    major: float = 40.0
    critical: float = 60.0
    presence: float = 0.02

    def severity(self, distance: float) -> Severity | None:
        """None when the colour passes as the sheet's colour."""
        if distance >= self.critical:
            return "critical"
        if distance >= self.major:
            return "major"
        if distance >= self.minor:
            return "minor"
        return None

    @classmethod
    def from_spec(cls, spec: BackendSpec) -> Thresholds:
        """Read and validate the backend string's options (unknown ones are rejected)."""
        spec.check_options(OPTIONS)
        base = cls()
        found = cls(
            minor=spec.option("minor", float, base.minor, low=0.0, high=MAX_DELTA_E),
            major=spec.option("major", float, base.major, low=0.0, high=MAX_DELTA_E),
            critical=spec.option("critical", float, base.critical, low=0.0, high=MAX_DELTA_E),
            presence=spec.option("presence", float, base.presence, low=0.0, high=1.0),
        )
        if not 0 < found.minor < found.major < found.critical:
            raise BackendError(
                f"backend {spec.name!r}: need 0 < minor < major < critical, got "
                f"{found.minor:g} / {found.major:g} / {found.critical:g}"
            )
        if not 0 <= found.presence < 1:
            raise BackendError(
                f"backend {spec.name!r}: presence is a share of the figure frame in 0..1, "
                f"got {found.presence:g}"
            )
        return found
