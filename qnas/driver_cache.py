"""A search driver's read cache in front of a database study: its own open trials live in memory.

Optuna's `_CachedStorage` (private; optuna is pinned) keeps finished trials in memory but reads
every unfinished trial back from the database on each `get_all_trials` and `get_trial`: about
six reads per trial in a search driver (the waiting-trial check, the sampler's looks at the
study, the trial's own refreshes), 60% of the driver's database time (BENCHMARKS.md).

`DriverCachedStorage` keeps that cache and adds two rules:

- **Own open trials are served from memory.** A trial this process created is written through
  to the database as before, and each write is applied to the cached copy too, so reading it
  back needs no query (`qnas.storage.write_trial_record`, which writes around it, tells it too).
  Once the trial finishes, Optuna's cache serves that copy until the next read replaces it.
- **Other processes' trials are re-read at most every `refresh_s` seconds**, and so are the
  study's user attributes. Samplers see another driver's trials up to that late: no later than
  a worker's result already arrives in any parallel search. This process's own finished trials
  need no read: the cache holds every write it made to them.

Nothing is written later than before: every write reaches the database before the call returns,
so a killed driver loses nothing the plain cache would have kept.
"""

from __future__ import annotations

import copy
import datetime
import math
import time
from collections.abc import Sequence
from typing import Any

from optuna import distributions
from optuna.storages import RDBStorage
from optuna.storages._cached_storage import _CachedStorage
from optuna.trial import FrozenTrial, TrialState

REFRESH_SECONDS = 1.0


class DriverCachedStorage(_CachedStorage):
    """Optuna's cached RDB storage, with this process's open trials kept in memory."""

    def __init__(self, backend: RDBStorage, refresh_s: float = REFRESH_SECONDS) -> None:
        super().__init__(backend)
        self._refresh_s = refresh_s
        self._read_at: dict[int, float] = {}
        self._own: dict[int, FrozenTrial] = {}  # trial id -> the cached copy this process writes
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
        return trial_id

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            own = self._own.get(trial_id)
        return own if own is not None else super().get_trial(trial_id)

    def _read_trials_from_remote_storage(self, study_id: int) -> None:
        now = time.monotonic()
        if now - self._read_at.get(study_id, -math.inf) < self._refresh_s:
            return
        super()._read_trials_from_remote_storage(study_id)
        with self._lock:
            self._read_at[study_id] = now
            # The read replaced cached copies with the database's (equal, as writes go through).
            for trial_id in self._own:
                self._own[trial_id] = self._cached(trial_id)

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: distributions.BaseDistribution
    ) -> None:
        super().set_trial_param(trial_id, param_name, param_value_internal, distribution)
        self._merge_into_own(
            trial_id,
            params={param_name: distribution.to_external_repr(param_value_internal)},
            distributions={param_name: distribution},
        )

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
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
                # Every write went through this copy, so Optuna's cache may serve it as finished.
                own.values = values
                own.datetime_complete = datetime.datetime.now()
                del self._own[trial_id]
                return changed
            # Taken first by another process: the next look reads the database.
            del self._own[trial_id]
            self._read_at.pop(self._trial_id_to_study_id_and_number[trial_id][0], None)
        return changed

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        super().set_trial_intermediate_value(trial_id, step, intermediate_value)
        self._merge_into_own(trial_id, intermediate_values={step: intermediate_value})

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        super().set_trial_user_attr(trial_id, key, value)
        self._merge_into_own(trial_id, user_attrs={key: value})

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        super().set_trial_system_attr(trial_id, key, value)
        self._merge_into_own(trial_id, system_attrs={key: value})

    def apply_record(self, trial_id: int, user_attrs: dict[str, Any], intermediate_values: dict[int, float]) -> None:
        """Mirror a record that `qnas.storage.write_trial_record` wrote to the database directly."""
        self._merge_into_own(trial_id, user_attrs=user_attrs, intermediate_values=intermediate_values)

    def _merge_into_own(self, trial_id: int, **fields: dict[Any, Any]) -> None:
        """Merge each `fields` entry (a FrozenTrial dict attribute: params, user_attrs, ...) into
        this process's copy of `trial_id`, if it holds one. New dicts, never edited in place:
        a sampler may still hold the old ones."""
        with self._lock:
            own = self._own.get(trial_id)
            if own is not None:
                for name, entries in fields.items():
                    setattr(own, name, {**getattr(own, name), **entries})
