"""Find and read search-space declarations: the shipped ones by name, any other by path.

YAML is read with `yaml.safe_load` only. It silently keeps the last of two equal keys, so the
text is first composed into nodes (no objects are built) to reject duplicate keys with their line.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import yaml

from qnas.errors import SearchSpaceError, not_allowed
from qnas.search_spaces.space import SearchSpace

_PACKAGE = "qnas.search_spaces"
SPACE_NAMES: tuple[str, ...] = tuple(
    sorted(entry.name.removesuffix(".yaml") for entry in files(_PACKAGE).iterdir() if entry.name.endswith(".yaml"))
)
"""Names of the spaces shipped with qnas (one `<name>.yaml` each in this package)."""
DEFAULT_SPACES = {"classification": "classification", "vqe": "vqe_gates", "state_prep": "state_prep"}
"""The shipped space used when none is given, by task kind (`qnas search`, the RL environment)."""


def load_space(name_or_path: str | os.PathLike[str]) -> SearchSpace:
    """Load a shipped space by bare name ("classification") or any declaration by file path.

    A string with a path separator or a .yaml/.yml suffix, or a Path, is a file; anything else
    is a shipped name.
    """
    text = os.fspath(name_or_path)
    is_path = isinstance(name_or_path, os.PathLike) or "/" in text or os.sep in text or text.endswith((".yaml", ".yml"))
    if not is_path:
        if text not in SPACE_NAMES:
            raise SearchSpaceError(
                not_allowed(
                    "search space", text, SPACE_NAMES, "Or pass the path of a YAML declaration, e.g. ./my_space.yaml."
                )
            )
        resource = files(_PACKAGE) / f"{text}.yaml"
        return parse_space(resource.read_text(encoding="utf-8"), str(resource))
    path = Path(text)
    if not path.is_file():
        stem = path.name.rsplit(".", 1)[0]
        hint = f" To load the shipped space, pass the bare name {stem!r}." if stem in SPACE_NAMES else ""
        state = "is a directory" if path.is_dir() else "does not exist"
        relative = "" if path.is_absolute() else f" (relative to {os.getcwd()})"
        raise SearchSpaceError(
            f"search-space file {text!r} {state}{relative}.{hint} Shipped spaces: {list(SPACE_NAMES)}."
        )
    return parse_space(path.read_text(encoding="utf-8"), str(path))


def parse_space(text: str, source: str = "<string>") -> SearchSpace:
    """Parse YAML text into a validated SearchSpace; `source` names the file in every error."""
    try:
        _reject_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        raise SearchSpaceError(
            f"{where}: malformed YAML: {problem}{f' ({context})' if context else ''}. "
            "Check the indentation and the brackets near that line."
        ) from None
    return SearchSpace(data, source, text)


def _reject_duplicate_keys(node: yaml.Node | None, source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise SearchSpaceError(
                        f"{source}:{key.start_mark.line + 1}:{key.start_mark.column + 1}: key {key.value!r} appears twice "
                        "in one mapping; YAML would keep only the last. Merge or rename them."
                    )
                seen.add(key.value)
            _reject_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source)


def spaces_for_kind(kind: str) -> list[str]:
    """Shipped spaces declared for a task kind, to name in an error's fix: the kind's default first."""
    fits = [name for name in SPACE_NAMES if kind in load_space(name).task_kinds]
    return sorted(fits, key=lambda name: name != DEFAULT_SPACES.get(kind))
