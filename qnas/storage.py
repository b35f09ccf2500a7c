"""Study storage from a URL: SQLite (the default), a shared database, or an Optuna journal file.

| URL | storage | use it for |
|---|---|---|
| `sqlite:///path.db` | RDBStorage on SQLite | one machine (the default) |
| `postgresql+psycopg://user@host/db` | RDBStorage on PostgreSQL | clusters, several drivers at once |
| `journal:///path.log` | JournalStorage on a file | a shared filesystem without a database server |

Every command opens storage through `open_storage`, so each URL means the same thing everywhere.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import StorageInternalError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError

from qnas.driver_cache import DriverCachedStorage
from qnas.errors import QnasError, not_allowed
from qnas.redaction import redact_url

RECONNECT_SECONDS = 60.0
"""How long a lost database connection is retried before the search gives up."""
_log = logging.getLogger(__name__)

DEFAULT_STORAGE = "sqlite:///qnas_runs/studies.db"
RDB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "mysql", "mysql+pymysql")
SCHEMES = (*RDB_SCHEMES, "journal")


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else url


def local_file(url: str) -> Path | None:
    """The file behind a SQLite or journal URL (relative to the working directory), else None."""
    for prefix in ("sqlite:///", "journal:///"):
        if url.startswith(prefix):
            return Path(url.removeprefix(prefix))
    return None


def check_storage_url(url: str, *, must_exist: bool = False) -> str:
    """Validate a storage URL; for a file create its folder, or insist it exists when reading."""
    if _scheme(url) not in SCHEMES:
        raise QnasError(
            not_allowed("--storage scheme", _scheme(url), SCHEMES, f"Example: {DEFAULT_STORAGE}")
            + f" (URL: {redact_url(url)})"
        )
    path = local_file(url)
    if path is not None:
        if must_exist and not path.exists():
            raise QnasError(
                f"no study storage at {path} (from --storage {redact_url(url)}). Run `qnas search` first or pass --storage."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    return url


def _is_connection_loss(exc: BaseException) -> bool:
    """A dropped or refused connection, raised directly or inside Optuna's failed-commit error."""
    if isinstance(exc, StorageInternalError):
        exc = exc.__cause__
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


class _Reconnecting(BaseStorage):
    """Delegates to a database storage and retries calls that fail because the connection was lost.

    A server restart or a network blip then delays the driver instead of dropping the result it
    was writing. Calls are retried with backoff for up to RECONNECT_SECONDS.
    """

    def __init__(self, inner: BaseStorage, url: str) -> None:
        self._inner = inner
        self._url = redact_url(url)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.retrying(lambda: getattr(self._inner, name)(*args, **kwargs))

    def retrying(self, call: Callable[[], Any]) -> Any:
        """Run `call`, retrying it while the connection is lost; it must be safe to repeat."""
        deadline, delay = time.monotonic() + RECONNECT_SECONDS, 0.25
        while True:
            try:
                return call()
            except (DBAPIError, StorageInternalError) as exc:
                if not _is_connection_loss(exc) or time.monotonic() > deadline:
                    raise
                _log.warning("lost the connection to %s (%s); retrying in %.2g s", self._url, type(exc).__name__, delay)
                time.sleep(delay)
                delay = min(2 * delay, 5.0)


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: _Reconnecting, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


_STORAGE_API = sorted(
    name for name in dir(BaseStorage) if not name.startswith("_") and callable(getattr(BaseStorage, name))
)
ReconnectingStorage = type(
    "ReconnectingStorage", (_Reconnecting,), {name: _delegate(name) for name in _STORAGE_API}
)
"""`_Reconnecting` with every `BaseStorage` method delegated through its retrying `_call`."""


def _sqlite_storage(url: str) -> RDBStorage:
    """SQLite in write-ahead-log mode with normal syncing: the driver commits once per suggested
    parameter and once per trial record, and WAL halves that cost (measured in BENCHMARKS.md) while
    staying durable against a crashed process; readers (the dashboard) no longer block it."""
    storage = RDBStorage(url)

    def configure(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(storage.engine, "connect", configure)
    storage.engine.dispose()  # reopen pooled connections with the settings above
    return storage


@functools.cache
def open_storage(url: str) -> BaseStorage:
    """The Optuna storage for `url`, opened once per process (an engine or a journal per URL).

    Database servers get checked connections (`pool_pre_ping`) and retried calls, so a brief
    outage delays the search rather than failing it. Databases read through `DriverCachedStorage`:
    Optuna's cache plus this process's open trials in memory (`qnas.driver_cache`).
    """
    check_storage_url(url)
    if _scheme(url) == "journal":
        return JournalStorage(JournalFileBackend(str(local_file(url))))
    if _scheme(url) == "sqlite":
        return DriverCachedStorage(_sqlite_storage(url))
    # The cache goes inside the reconnecting wrapper, so a retried call goes to the database.
    return ReconnectingStorage(DriverCachedStorage(RDBStorage(url, engine_kwargs={"pool_pre_ping": True})), url)


def default_artifact_dir(url: str) -> Path:
    """Weights live beside a SQLite or journal file; database storages default to ./qnas_runs/artifacts."""
    path = local_file(url)
    return path.with_name(f"{path.stem}-artifacts") if path is not None else Path("qnas_runs/artifacts")


def list_study_names(url: str) -> list[str]:
    return [s.study_name for s in optuna.get_all_study_summaries(storage=open_storage(url), include_best_trial=False)]


def _layers(storage: BaseStorage) -> Iterator[BaseStorage]:
    """`storage` and the storages it wraps: our reconnecting wrapper, the driver's cache, the database."""
    while storage is not None:
        yield storage
        storage = getattr(storage, "_inner", None) or getattr(storage, "_backend", None)


def _driver_cache(storage: BaseStorage) -> DriverCachedStorage | None:
    return next((layer for layer in _layers(storage) if isinstance(layer, DriverCachedStorage)), None)


def write_trial_record(
    storage: BaseStorage, trial_id: int, user_attrs: dict[str, Any], intermediate_values: dict[int, float]
) -> None:
    """Record a trial's user attributes and intermediate values, in one transaction.

    Optuna writes each `set_user_attr` and `report` on its own: on a database that is a lookup
    of the trial, an upsert and a commit each, about twenty per trial, which dominated the
    driver's time per trial (BENCHMARKS.md, search load). Through `DriverCachedStorage` (every
    SQLite and PostgreSQL storage qnas opens) the record of an open trial of this driver is
    written with the trial's end, and any other is written at once as one transaction. Other
    storages get the writes one by one. A write retried after a lost connection changes nothing.
    """
    cache = _driver_cache(storage)
    if cache is None:
        for key, value in user_attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        for step, value in intermediate_values.items():
            storage.set_trial_intermediate_value(trial_id, step, value)
        return
    _retrying(storage, lambda: cache.hold_record(trial_id, user_attrs, intermediate_values))


def flush_trial(storage: BaseStorage, trial_id: int) -> None:
    """Write what the driver holds for an open trial (its parameters, once the candidate is
    drawn), so the database has it before the trial runs. A no-op on storages that hold nothing."""
    cache = _driver_cache(storage)
    if cache is not None:
        _retrying(storage, lambda: cache.flush(trial_id))


def _retrying(storage: BaseStorage, call: Callable[[], None]) -> None:
    """Run a write around `storage`'s API through its reconnecting wrapper, if it has one."""
    if isinstance(storage, _Reconnecting):
        storage.retrying(call)
    else:
        call()
