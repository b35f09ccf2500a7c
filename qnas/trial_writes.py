"""A trial's writes to Optuna's database tables, in one transaction of SQLAlchemy Core statements.

Optuna's RDB storage writes each parameter, attribute and value through its ORM in its own
session: a lookup of the trial, an object, a flush and a commit for each, and a search driver
makes about ten per trial. Written here instead, as one transaction of cached Core statements,
the driver's CPU time for storage per trial fell (`benchmarks/driver_cache.py`; the figures are
in BENCHMARKS.md, search load, round 6).

The rows and their encodings are Optuna's own (`optuna.storages._rdb.models`; the schema is
versioned, and optuna is pinned), so any Optuna reader, the dashboard included, reads them back
unchanged. Every row is an upsert, so a write retried after a lost connection changes nothing.
Only SQLite and PostgreSQL are supported (`SUPPORTED_ENGINES`); other databases keep Optuna's path.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages._rdb import models
from optuna.trial import TrialState
from sqlalchemy import Engine, select, update

SUPPORTED_ENGINES = ("sqlite", "postgresql")


@dataclass
class TrialWrites:
    """Writes to one trial not yet in the database: parameters in Optuna's internal form with
    their distribution's JSON, attributes and intermediate values."""

    params: dict[str, tuple[float, str]] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    intermediate_values: dict[int, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any((self.params, self.system_attrs, self.user_attrs, self.intermediate_values))


@dataclass(frozen=True)
class Finish:
    """The end of a trial: its final state, objective values, and completion time (naive local,
    as Optuna's FrozenTrial holds it)."""

    state: TrialState
    values: Sequence[float] | None
    at: datetime.datetime


def write(engine: Engine, trial_id: int, writes: TrialWrites, finish: Finish | None = None) -> None:
    """Write `writes` to trial `trial_id` and, with `finish`, end the trial, in one transaction.

    Raises Optuna's `UpdateFinishedTrialError` when the trial has already finished (nothing is
    written then), and KeyError when there is no such trial, as Optuna's storage does.
    """
    upsert = _upserts(engine.dialect.name)
    with engine.begin() as connection:
        _lock_open_trial(connection, trial_id, finish)
        if writes.params:
            rows = [
                {"trial_id": trial_id, "param_name": name, "param_value": value, "distribution_json": distribution}
                for name, (value, distribution) in writes.params.items()
            ]
            connection.execute(upsert["params"], rows)
        for kind in ("system_attrs", "user_attrs"):
            attrs = getattr(writes, kind)
            if attrs:
                rows = [{"trial_id": trial_id, "key": key, "value_json": json.dumps(v)} for key, v in attrs.items()]
                connection.execute(upsert[kind], rows)
        if writes.intermediate_values:
            rows = []
            for step, value in writes.intermediate_values.items():
                stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
                rows.append({"trial_id": trial_id, "step": step, "intermediate_value": stored, "intermediate_value_type": kind})
            connection.execute(upsert["intermediate_values"], rows)
        if finish is not None and finish.values is not None:
            rows = []
            for objective, value in enumerate(finish.values):
                stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                rows.append({"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind})
            connection.execute(upsert["values"], rows)


def _lock_open_trial(connection: Any, trial_id: int, finish: Finish | None) -> None:
    """Check that the trial is still open, holding its row for the transaction (Optuna's
    `check_trial_is_updatable`); with `finish`, end it in the same statement."""
    trials = models.TrialModel.__table__
    open_states = (TrialState.RUNNING, TrialState.WAITING)
    if finish is not None:
        completed = finish.at.astimezone(datetime.UTC).replace(tzinfo=None)  # stored as naive UTC
        statement = (
            update(trials)
            .where(trials.c.trial_id == trial_id, trials.c.state.in_(open_states))
            .values(state=finish.state, datetime_complete=completed)
        )
        if connection.execute(statement).rowcount == 1:
            return
    else:
        query = select(trials.c.state).where(trials.c.trial_id == trial_id)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        state = connection.execute(query).scalar_one_or_none()
        if state in open_states:
            return
    number = connection.execute(select(trials.c.number).where(trials.c.trial_id == trial_id)).scalar_one_or_none()
    if number is None:
        raise KeyError(f"No trial with trial_id {trial_id} exists.")
    raise UpdateFinishedTrialError(f"Trial#{number} has already finished and can not be updated.")


@functools.cache
def _upserts(dialect: str) -> dict[str, Any]:
    """One upsert statement per table, built once so SQLAlchemy compiles each once."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise ValueError(f"trial writes support {SUPPORTED_ENGINES}, not {dialect!r}")

    def upsert(model: Any, key: tuple[str, str], columns: tuple[str, ...]) -> Any:
        table = model.__table__
        statement = insert(table)
        return statement.on_conflict_do_update(
            index_elements=[table.c[k] for k in key], set_={c: statement.excluded[c] for c in columns}
        )

    return {
        "params": upsert(models.TrialParamModel, ("trial_id", "param_name"), ("param_value", "distribution_json")),
        "system_attrs": upsert(models.TrialSystemAttributeModel, ("trial_id", "key"), ("value_json",)),
        "user_attrs": upsert(models.TrialUserAttributeModel, ("trial_id", "key"), ("value_json",)),
        "intermediate_values": upsert(
            models.TrialIntermediateValueModel, ("trial_id", "step"), ("intermediate_value", "intermediate_value_type")
        ),
        "values": upsert(models.TrialValueModel, ("trial_id", "objective"), ("value", "value_type")),
    }
