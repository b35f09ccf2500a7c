"""A search driver's cache in front of a database study: its own open trials live in memory.

Optuna's `_CachedStorage` (private; optuna is pinned) keeps finished trials in memory but reads
every unfinished trial back from the database on each `get_all_trials` and `get_trial`: about
six reads per trial in a search driver (the waiting-trial check, the sampler's looks at the
study, the trial's own refreshes), 60% of the driver's database time (BENCHMARKS.md). And it
writes each parameter and attribute through Optuna's ORM on its own, about ten writes per
trial, each in a session of its own (`qnas.trial_writes`).

`DriverCachedStorage` keeps that cache and adds three rules:

- **Own open trials are served from memory.** Each write to a trial this process created is
  applied to the cached copy, so reading it back needs no query. Once the trial finishes,
  Optuna's cache serves that copy until the next read replaces it.
- **Writes to own open trials are held, then written together** in one transaction
  (`qnas.trial_writes`): when the proposer has drawn the whole candidate (`flush`, which
  `qnas.storage.flush_trial` calls), with each intermediate value (so pruned searches show live
  curves), and with the trial's end. A trial runs on a worker only after its parameters are
  in the database, so a killed driver loses no more than the plain cache: the record of the
  trials it had open, which `qnas search --resume` marks failed anyway.
- **Other processes' trials are re-read at most every `refresh_s` seconds**, and so are the
  study's user attributes. Samplers see another driver's trials up to that late: no later than
  a worker's result already arrives in any parallel search. This process's own finished trials
  need no read: the cache holds every write it made to them.

Held writes need `qnas.trial_writes` (SQLite, PostgreSQL); on other databases every write goes
through Optuna at once.
"""

from __future__ import annotations

import copy
import datetime
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from optuna import distributions
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.storages._cached_storage import _CachedStorage
from optuna.trial import FrozenTrial, TrialState

from qnas import trial_writes

REFRESH_SECONDS = 1.0
_log = logging.getLogger(__name__)


class DriverCachedStorage(_CachedStorage):
    """Optuna's cached RDB storage, with this process's open trials kept, and written, from memory."""

    def __init__(self, backend: RDBStorage, refresh_s: float = REFRESH_SECONDS) -> None:
        super().__init__(backend)
        self._refresh_s = refresh_s
        self._read_at: dict[int, float] = {}
        self._own: dict[int, FrozenTrial] = {}  # trial id -> the cached copy this process writes
        self._pending: dict[int, trial_writes.TrialWrites] = {}  # own trial id -> writes not yet made
        self._holds_writes = backend.engine.name in trial_writes.SUPPORTED_ENGINES
        self._study_attrs: dict[int, tuple[float, dict[str, Any]]] = {}  # study id -> (read at, attrs)

    def _cached(self, trial_id: int) -> FrozenTrial:
        study_id, number = self._trial_id_to_study_id_and_number[trial_id]
        return self._studies[study_id].trials[number]

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        """Set when a search starts and read on every trial record (the artifact folder): re-read
        at most every `refresh_s`, and after this process sets one."""
        with self._lock:
            cached = self._study_attrs.get(study_id)
        if cached is None or time.monotonic() - cached[0] >= self._refresh_s:
            cached = (time.monotonic(), super().get_study_user_attrs(study_id))
            with self._lock:
                self._study_attrs[study_id] = cached
        return copy.deepcopy(cached[1])

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        super().set_study_user_attr(study_id, key, value)
        with self._lock:
            self._study_attrs.pop(study_id, None)

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        trial_id = super().create_new_trial(study_id, template_trial)
        with self._lock:
            self._own[trial_id] = self._cached(trial_id)
            if self._holds_writes:
                self._pending[trial_id] = trial_writes.TrialWrites()
        return trial_id

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            own = self._own.get(trial_id)
        return own if own is not None else super().get_trial(trial_id)

    def _read_trials_from_remote_storage(self, study_id: int) -> None:
        now = time.monotonic()
        if now - self._read_at.get(study_id, -math.inf) < self._refresh_s:
            return
        with self._lock:
            held = list(self._pending)
        for trial_id in held:  # the read replaces cached copies: they must match the database
            try:
                self.flush(trial_id)
            except UpdateFinishedTrialError as exc:
                _log.warning("%s: another process ended it, so what this driver held for it is dropped", exc)
        super()._read_trials_from_remote_storage(study_id)
        with self._lock:
            self._read_at[study_id] = now
            for trial_id in self._own:
                self._own[trial_id] = self._cached(trial_id)

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: distributions.BaseDistribution
    ) -> None:
        with self._lock:
            study_id, _ = self._trial_id_to_study_id_and_number[trial_id]
            known = self._studies[study_id].param_distribution.get(param_name)
            held = self._pending.get(trial_id)
            if known is not None and held is not None:
                distributions.check_distribution_compatibility(known, distribution)
                held.params[param_name] = (param_value_internal, distributions.distribution_to_json(distribution))
        if known is None or held is None:
            # A name's first use checks the distribution against the whole study, in the database.
            self.flush(trial_id)
            super().set_trial_param(trial_id, param_name, param_value_internal, distribution)
        self._merge_into_own(
            trial_id,
            params={param_name: distribution.to_external_repr(param_value_internal)},
            distributions={param_name: distribution},
        )

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        with self._lock:
            held = self._pending.get(trial_id)
        if held is not None and state.is_finished():
            finish = trial_writes.Finish(state, values, datetime.datetime.now())
            self._write(trial_id, held, finish)  # the held writes and the end, in one transaction
            with self._lock:
                del self._pending[trial_id]
                own = self._own.pop(trial_id)
                # Every write went through this copy, so Optuna's cache may serve it as finished.
                own.state, own.values, own.datetime_complete = state, values, finish.at
            return True
        self.flush(trial_id)
        changed = super().set_trial_state_values(trial_id, state, values)
        with self._lock:
            own = self._own.get(trial_id)
            if own is None:
                return changed
            if changed:
                own.state = state
                if state == TrialState.RUNNING:  # a waiting (enqueued) trial this process took
                    own.datetime_start = datetime.datetime.now()
                    return changed
                own.values, own.datetime_complete = values, datetime.datetime.now()
                del self._own[trial_id]
                return changed
            self._forget(trial_id)  # taken first by another process
        return changed

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        """Written at once, with what is held: a pruned search's curves show live in the dashboard."""
        with self._lock:
            held = self._pending.get(trial_id)
            if held is not None:
                held.intermediate_values[step] = intermediate_value
        if held is not None:
            self.flush(trial_id)
        else:
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)
        self._merge_into_own(trial_id, intermediate_values={step: intermediate_value})

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.hold_record(trial_id, {key: value}, {})

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            held = self._pending.get(trial_id)
            if held is not None:
                held.system_attrs[key] = value
        if held is None:
            super().set_trial_system_attr(trial_id, key, value)
        self._merge_into_own(trial_id, system_attrs={key: value})

    def hold_record(self, trial_id: int, user_attrs: dict[str, Any], intermediate_values: dict[int, float]) -> None:
        """User attributes and intermediate values, held for the trial's next flush or its end
        if this process holds its writes, else written at once in one transaction."""
        with self._lock:
            held = self._pending.get(trial_id)
            if held is not None:
                held.user_attrs.update(user_attrs)
                held.intermediate_values.update(intermediate_values)
        if held is None and self._holds_writes:
            record = trial_writes.TrialWrites(user_attrs=dict(user_attrs), intermediate_values=dict(intermediate_values))
            self._write(trial_id, record)
        elif held is None:
            for key, value in user_attrs.items():
                super().set_trial_user_attr(trial_id, key, value)
            for step, value in intermediate_values.items():
                super().set_trial_intermediate_value(trial_id, step, value)
        self._merge_into_own(trial_id, user_attrs=user_attrs, intermediate_values=intermediate_values)

    def flush(self, trial_id: int) -> None:
        """Write what is held for `trial_id` in one transaction; on failure it stays held."""
        with self._lock:
            held = self._pending.get(trial_id)
        if held:
            self._write(trial_id, held)
            with self._lock:
                if self._pending.get(trial_id) is held:
                    self._pending[trial_id] = trial_writes.TrialWrites()

    def _write(self, trial_id: int, writes: trial_writes.TrialWrites, finish: trial_writes.Finish | None = None) -> None:
        """`trial_writes.write`; a trial another process ended is dropped from this cache, held
        writes and all (Optuna would have refused each of them), and the error raised."""
        try:
            trial_writes.write(self._backend.engine, trial_id, writes, finish)
        except UpdateFinishedTrialError:
            with self._lock:
                self._forget(trial_id)
            raise

    def _forget(self, trial_id: int) -> None:
        """Drop a trial another process ended, with what was held for it; the next look at its
        study reads the database. Call with the lock held."""
        self._own.pop(trial_id, None)
        self._pending.pop(trial_id, None)
        self._read_at.pop(self._trial_id_to_study_id_and_number[trial_id][0], None)

    def _merge_into_own(self, trial_id: int, **fields: dict[Any, Any]) -> None:
        """Merge each `fields` entry (a FrozenTrial dict attribute: params, user_attrs, ...) into
        this process's copy of `trial_id`, if it holds one. New dicts, never edited in place:
        a sampler may still hold the old ones."""
        with self._lock:
            own = self._own.get(trial_id)
            if own is not None:
                for name, entries in fields.items():
                    setattr(own, name, {**getattr(own, name), **entries})
