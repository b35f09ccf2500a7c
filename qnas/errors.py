"""Error types shared across qnas, and the "did you mean" helper their messages use.

Every user-facing error names the bad value, what is allowed and how to fix it, so that
a mistyped YAML key or CLI flag is a one-line fix rather than a stack-trace hunt.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class QnasError(ValueError):
    """Base class for errors caused by user input (configs, data, exports)."""


class SpecError(QnasError):
    """A CandidateSpec field holds a value outside its rule."""


class SearchSpaceError(QnasError):
    """A search-space declaration is malformed."""


class TaskError(QnasError):
    """A task or its data cannot be used as given."""


class DeviceError(QnasError):
    """A device name or its settings cannot be used."""


class ExportError(QnasError):
    """An export folder is missing files or fails its checksums."""


class StorageError(QnasError):
    """Study storage cannot be opened or used: unreachable, refused, unwritable, or not a database."""


def did_you_mean(value: object, allowed: Iterable[object]) -> str:
    """Return ' Did you mean 'x'?' for the closest allowed string, or '' when none is close."""
    candidates = [str(a) for a in allowed]
    matches = difflib.get_close_matches(str(value), candidates, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        close = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.6)
        matches = [lowered[c] for c in close]
    return f" Did you mean {matches[0]!r}?" if matches else ""


def not_allowed(what: str, value: object, allowed: Iterable[object], fix: str = "") -> str:
    """Format the standard message: the field, the bad value, the allowed values, a hint."""
    allowed = list(allowed)
    message = f"{what} = {value!r} is not allowed; allowed values: {allowed}.{did_you_mean(value, allowed)}"
    return f"{message} {fix}".rstrip()
