"""Which backends exist: the built-ins and those that installed plugins declare.

A plugin is a distribution with entry points in the group ``storyviz.backends``, each named
``ROLE.NAME`` (``generator.fakecolor``) and pointing at a `BackendEntry` (docs/plugins.md). The
built-ins are the same kind of declaration, in storyviz/builtin_backends.py. The rules:

- A built-in name wins: a plugin declaring one is ignored, and `storyviz backends` says so, so
  installing a package never changes what ``--generator sketch`` means.
- A name that two plugins declare is refused when used, naming both: neither is a better guess.
- A plugin whose declaration cannot be loaded is an error naming its distribution, raised only
  when that backend is used; `storyviz backends` shows it as broken and lists the rest.

What it costs: importlib.metadata is imported and the installed distributions scanned only when
a name is not built in, an auditor chain is split, or the backends are listed (once a process;
`forget` starts over). A plugin's declaration module is imported when that plugin is used or
listed, its backend module only when the backend is built (storyviz.registry.build).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, get_args

from storyviz.errors import BackendError
from storyviz.registry import ROLES, BackendEntry, ModelUse, Role, one_line

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "storyviz.backends"
NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
"""What a backend name may be: what `storyviz.registry.parse_backend` reads back unchanged."""

_SELF = "storyviz"


@dataclass(frozen=True)
class Declared:
    """One entry point of the group, read from its distribution's metadata, not yet loaded."""

    role: Role | None  # None when the entry point is not named ROLE.NAME
    name: str
    point: EntryPoint
    distribution: str
    version: str

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.version}".strip()

    def load(self) -> BackendEntry:
        """The declaration, stamped with the distribution it came from, or a one-line error."""
        what = f"plugin {self.origin}: the {self.role} backend {self.name!r}"
        try:
            entry = self.point.load()
        except Exception as exc:  # a plugin's import may fail any way; it must not crash us
            raise BackendError(
                f"{what} cannot be loaded from {self.point.value}: {one_line(exc)}"
            ) from None
        if not isinstance(entry, BackendEntry):
            raise BackendError(
                f"{what}: {self.point.value} is a {type(entry).__name__}, "
                "not a storyviz.registry.BackendEntry"
            )
        if entry.model not in get_args(ModelUse) or ":" not in entry.target:
            raise BackendError(
                f"{what}: its BackendEntry needs target='module:callable' and "
                f"model='none', 'optional' or 'required'; got {entry.target!r}, {entry.model!r}"
            )
        return replace(entry, distribution=self.distribution, version=self.version)


@dataclass(frozen=True)
class Listed:
    """A line of `storyviz backends`: a usable backend, or a plugin's with what is wrong."""

    role: Role
    name: str
    entry: BackendEntry | None
    problem: str = ""


def builtins() -> dict[Role, dict[str, BackendEntry]]:
    from storyviz.builtin_backends import BUILTINS

    return BUILTINS


def find(role: Role, name: str) -> BackendEntry | None:
    """The backend a role's name means, or None; a built-in is found without reading metadata."""
    builtin = builtins()[role].get(name)
    if builtin is not None:
        return builtin
    found = [d for d in _scan() if d.role == role and d.name == name]
    if len(found) > 1:
        raise BackendError(_conflict(found))
    return found[0].load() if found else None


def names(role: Role) -> set[str]:
    """Every name the role knows, plugins' included, without importing any plugin."""
    return set(builtins()[role]) | {d.name for d in _scan() if d.role == role}


def listing() -> tuple[list[Listed], list[str]]:
    """Every backend by role and name, and warnings about plugins that are ignored."""
    rows: list[Listed] = []
    warnings: list[str] = []
    declared = _scan()
    for bad in (d for d in declared if d.role is None):
        warnings.append(
            f"plugin {bad.origin}: entry point {bad.point.name!r} in {GROUP} is not ROLE.NAME "
            f"(ROLE one of {', '.join(ROLES)}; NAME of a-z, 0-9, '-', '_'); ignored"
        )
    for role in ROLES:
        builtin = builtins()[role]
        rows.extend(Listed(role, name, entry) for name, entry in builtin.items())
        by_name: dict[str, list[Declared]] = {}
        for d in declared:
            if d.role == role:
                by_name.setdefault(d.name, []).append(d)
        for name, found in by_name.items():
            if name in builtin:
                warnings.extend(
                    f"plugin {d.origin} declares the built-in {role} backend {name!r}; "
                    "the built-in is used"
                    for d in found
                )
            elif len(found) > 1:
                rows.append(Listed(role, name, None, _conflict(found)))
            else:
                try:
                    rows.append(Listed(role, name, found[0].load()))
                except BackendError as exc:
                    rows.append(Listed(role, name, None, str(exc)))
    rows.sort(key=lambda row: (ROLES.index(row.role), row.name))
    return rows, warnings


def forget() -> None:
    """Read the installed plugins again on next use (tests; a process that installs one)."""
    _scan.cache_clear()


def _conflict(found: list[Declared]) -> str:
    first = found[0]
    origins = ", ".join(sorted(d.origin for d in found))
    return (
        f"the {first.role} backend {first.name!r} is declared by more than one plugin "
        f"({origins}); uninstall all but one to use it"
    )


@functools.cache
def _scan() -> tuple[Declared, ...]:
    """The group's entry points in every installed distribution but storyviz itself, whose
    built-ins come from storyviz/builtin_backends.py (see there why)."""
    from importlib.metadata import entry_points

    declared = []
    for point in entry_points(group=GROUP):
        dist = point.dist  # metadata may lack a name or version; messages still need words
        distribution = (dist.name if dist else None) or "(unnamed distribution)"
        if re.sub(r"[-_.]+", "-", distribution).lower() == _SELF:
            continue
        head, _, name = point.name.partition(".")
        role = next((r for r in ROLES if r == head), None)
        valid = role is not None and NAME.fullmatch(name) is not None
        declared.append(
            Declared(
                role=role if valid else None,
                name=name if valid else point.name,
                point=point,
                distribution=distribution,
                version=(dist.version if dist else None) or "",
            )
        )
    return tuple(declared)
