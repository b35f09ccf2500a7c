"""Study storage from a URL: SQLite (the default), a shared database, or an Optuna journal file.

| URL | storage | use it for |
|---|---|---|
| `sqlite:///path.db` | RDBStorage on SQLite | one machine (the default) |
| `postgresql+psycopg://user@host/db` | RDBStorage on PostgreSQL | clusters, several drivers at once |
| `journal:///path.log` | JournalStorage on a file | a shared filesystem without a database server |

Every command opens storage through `open_storage`, so each URL means the same thing everywhere.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import StorageInternalError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from qnas.driver_cache import DriverCachedStorage
from qnas.errors import QnasError, StorageError, not_allowed
from qnas.redaction import redact_secrets_of, redact_url

RECONNECT_SECONDS = 60.0
"""How long a lost database connection is retried before the search gives up."""
_log = logging.getLogger(__name__)

DEFAULT_STORAGE = "sqlite:///qnas_runs/studies.db"
SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file; anything else (an empty file too) is not one."""
CONNECT_TIMEOUT_S = 10
"""How long opening a database server connection may take: a server that cannot be reached at start-up
is an error at once, not a hang (a connection lost mid-search is retried for RECONNECT_SECONDS)."""
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
    """Validate a storage URL before it is opened.

    Reading (`must_exist`) creates and changes nothing: the file must exist and hold a study
    database, so a mistyped path is an error instead of a new empty database. Writing creates the
    file's folder and refuses a file that is not a database or cannot be written.
    """
    _check_scheme(url)
    path = local_file(url)
    if path is None:
        return url
    if must_exist or path.exists():
        _check_existing_file(url, path)
    else:
        _make_folder(url, path)
    if not must_exist and path.exists() and not os.access(path, os.W_OK):
        raise StorageError(
            f"cannot write {path} (--storage {redact_url(url)}): permission denied. "
            "Make it writable (chmod u+w) or pass another --storage."
        )
    return url


def _check_scheme(url: str) -> None:
    if _scheme(url) not in SCHEMES:
        raise QnasError(
            not_allowed("--storage scheme", _scheme(url), SCHEMES, f"Example: {DEFAULT_STORAGE}")
            + f" (URL: {redact_url(url)})"
        )


def _check_existing_file(url: str, path: Path) -> None:
    """Refuse, without writing to it, a path that is missing or is not a study file of its kind:
    SQLite would turn any empty file into a database, and Optuna reads a foreign journal as empty."""
    where = f"{path} (--storage {redact_url(url)})"
    if not path.exists():
        raise StorageError(
            f"no study storage at {where}: the file does not exist. Check the path or run `qnas search` to create it; "
            "`qnas studies list --storage URL` lists the studies a storage holds."
        )
    if not path.is_file():
        raise StorageError(f"{where} is not a file; pass the study file itself, e.g. {_scheme(url)}:///{path / 'studies.db'}.")
    try:
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError as exc:
        raise StorageError(f"cannot read {where}: {exc.strerror}. Make it readable or pass another --storage.") from exc
    problem = _not_a_study_database(path, head) if _scheme(url) == "sqlite" else _not_a_journal(head)
    if problem:
        raise StorageError(
            f"{where} is not a {'study database' if _scheme(url) == 'sqlite' else 'study journal'} ({problem}); "
            "it was left unchanged. Pass the file `qnas search` wrote, or a path that does not exist yet."
        )


def _not_a_study_database(path: Path, head: bytes) -> str:
    """Why the file at `path`, starting with `head`, is not a SQLite database that holds studies
    or nothing yet, or ''. Another program's database would otherwise get Optuna's tables added."""
    if not head:
        return "it is empty"
    if not head.startswith(SQLITE_HEADER):
        return "it does not start with the SQLite header"
    try:  # immutable: no lock, no -wal or -shm file created; a read that races a writer proves nothing
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return ""
    return "" if not tables or "studies" in tables else f"it holds other tables ({', '.join(sorted(tables)[:5])}) and no studies"


def _not_a_journal(head: bytes) -> str:
    """Why a file starting with `head` is not an Optuna journal (JSON lines with an op_code), or ''."""
    if not head:
        return ""  # an empty journal is a valid journal with no studies
    try:
        record = json.loads(head.split(b"\n", 1)[0])
    except ValueError:
        record = None
    return "" if isinstance(record, dict) and "op_code" in record else "its first line is not a journal record"


def _make_folder(url: str, path: Path) -> None:
    """Create the folder a new storage file goes in, or say why it cannot hold one."""
    fix = "Pass a --storage path in a folder you can write."
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise StorageError(f"cannot create {path} for --storage {redact_url(url)}: {blocker} is a file, not a folder. {fix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder {path.parent} for --storage {redact_url(url)}: {exc.strerror}. {fix}") from exc
    if not os.access(path.parent, os.W_OK):
        raise StorageError(f"cannot create {path} for --storage {redact_url(url)}: {path.parent} is not writable. {fix}")


def _cause(exc: BaseException, url: str) -> str:
    """The driver's own words for a failure, on one line and without the URL's secrets."""
    cause = getattr(exc, "orig", None) or exc
    text = " ".join(str(cause).split()).rstrip(".") or type(cause).__name__
    return redact_secrets_of(url, text)


def storage_error(url: str, exc: BaseException) -> StorageError:
    """The one-line error for storage that could not be opened or written, naming the storage and the fix."""
    path = local_file(url)
    if path is None:
        fix = "Check that the server is running and the URL's host, port, user, password and database name."
    else:
        fix = f"Check that {path} is a study file of its kind in a folder you can write, or pass another --storage."
    cause = _cause(exc, url)
    return StorageError(f"cannot use study storage {redact_url(url)}: {cause}{'' if cause.endswith('?') else '.'} {fix}")


def _is_connection_loss(exc: BaseException) -> bool:
    """A dropped or refused connection, raised directly or inside Optuna's failed-commit error."""
    if isinstance(exc, StorageInternalError):
        exc = exc.__cause__
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


class _Reconnecting(BaseStorage):
    """Delegates to a database storage and retries calls that fail because the connection was lost.

    A server restart or a network blip then delays the driver instead of dropping the result it
    was writing. Calls are retried with backoff for up to RECONNECT_SECONDS; then the loss is one
    `StorageError`, and later calls that find the connection lost fail at once, so the search's
    own clean-up does not wait out the deadline again.
    """

    def __init__(self, inner: BaseStorage, url: str) -> None:
        self._inner = inner
        self._url = url
        self._gone = False

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.retrying(lambda: getattr(self._inner, name)(*args, **kwargs))

    def retrying(self, call: Callable[[], Any]) -> Any:
        """Run `call`, retrying it while the connection is lost; it must be safe to repeat."""
        deadline, delay = time.monotonic() + RECONNECT_SECONDS, 0.25
        while True:
            try:
                return call()
            except (DBAPIError, StorageInternalError) as exc:
                if not _is_connection_loss(exc):
                    raise
                if self._gone or time.monotonic() > deadline:
                    self._gone = True
                    raise StorageError(
                        f"lost the connection to {redact_url(self._url)} and could not reconnect in {RECONNECT_SECONDS:.0f} s "
                        f"({_cause(exc, self._url)}). Finished trials are in the study: once the server is back, "
                        "`qnas search --resume --study NAME --storage URL` continues the search."
                    ) from exc
                url = redact_url(self._url)
                _log.warning("lost the connection to %s (%s); retrying in %.2g s", url, type(exc).__name__, delay)
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
    outage delays the search rather than failing it; a storage that cannot be opened at all is a
    `StorageError` at once. Databases read through `DriverCachedStorage`: Optuna's cache plus this
    process's open trials in memory (`qnas.driver_cache`). A file that exists is checked, not changed.
    """
    path = local_file(url)
    check_storage_url(url, must_exist=path is not None and path.exists())
    try:
        if _scheme(url) == "journal":
            return JournalStorage(JournalFileBackend(str(path)))
        if _scheme(url) == "sqlite":
            return DriverCachedStorage(_sqlite_storage(url))
        engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if _scheme(url).startswith("postgresql") and "connect_timeout" not in url:
            engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        # The cache goes inside the reconnecting wrapper, so a retried call goes to the database.
        return ReconnectingStorage(DriverCachedStorage(RDBStorage(url, engine_kwargs=engine_kwargs)), url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise storage_error(url, exc) from exc


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
