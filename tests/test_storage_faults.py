"""Storage faults are one-line errors with exit code 2, never tracebacks (issue 19, point 3).

Each fault goes through `qnas.cli.main`: an unreachable or refusing database server, a path that
cannot be written, a file that is not a database, and a journal without write permission. Read
commands (studies list/show/compare, report, export) must not create or change any file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from qnas.cli import main
from tests.conftest import POSTGRES, needs_postgres

PASSWORD = "s3cret-pw"


def _read_commands(storage: str, out: Path) -> list[list[str]]:
    """Every read-only command, pointed at `storage`."""
    return [
        ["studies", "list", "--storage", storage],
        ["studies", "show", "demo", "--storage", storage],
        ["studies", "compare", "demo", "other", "--storage", storage],
        ["report", "--study", "demo", "--storage", storage, "--out", str(out / "report.html")],
        ["export", "--study", "demo", "--storage", storage, "--out", str(out / "export")],
    ]


def _search(storage: str, tiny_space: str) -> list[str]:
    return ["search", "--space", tiny_space, "--trials", "1", "--workers", "0", "--storage", storage, "--study", "demo"]


def _assert_one_line_error(capsys: pytest.CaptureFixture[str], code: int, *named: str) -> str:
    """Exit 2 and a single `qnas: error:` line on stderr naming `named`, without a traceback or password."""
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, err
    assert err.startswith("qnas: error: ") and "\n" not in err, err
    assert "Traceback" not in captured.err + captured.out
    assert PASSWORD not in captured.err + captured.out
    for text in named:
        assert text in err, (text, err)
    return err


def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def not_a_database(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n")
    yield path


# --- files: read commands create and change nothing --------------------------------------------


@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_read_commands_on_a_missing_file_name_it_and_create_nothing(tmp_path: Path, capsys, scheme: str) -> None:
    path = tmp_path / "missing" / "studies.db"
    for argv in _read_commands(f"{scheme}:///{path}", tmp_path):
        err = _assert_one_line_error(capsys, main(argv), str(path), "does not exist", "qnas studies list --storage")
        assert "qnas search" in err
        assert not path.parent.exists(), argv


@pytest.mark.parametrize("content", [b"", b"these are my notes, not a database\n"], ids=["empty", "text"])
def test_read_commands_refuse_a_file_that_is_not_sqlite_without_writing_it(tmp_path: Path, capsys, content: bytes) -> None:
    path = tmp_path / "studies.db"
    path.write_bytes(content)
    before = _snapshot(path)
    for argv in _read_commands(f"sqlite:///{path}", tmp_path):
        _assert_one_line_error(capsys, main(argv), str(path), "not a study database", "left unchanged")
        assert _snapshot(path) == before, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["studies.db"]  # no -wal, -journal or report


def _another_programs_database(path: Path) -> Path:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE plants (name TEXT, height REAL)")
        db.commit()
    return path


def test_another_programs_sqlite_database_is_refused_by_every_command_and_left_unchanged(
    tmp_path: Path, tiny_space: str, capsys
) -> None:
    path = _another_programs_database(tmp_path / "garden.db")
    before = _snapshot(path)
    for argv in [_search(f"sqlite:///{path}", tiny_space), *_read_commands(f"sqlite:///{path}", tmp_path)]:
        _assert_one_line_error(capsys, main(argv), str(path), "holds other tables (plants) and no studies")
        assert _snapshot(path) == before, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garden.db", "tiny.yaml"]


def test_read_commands_refuse_a_file_that_is_not_a_journal_without_writing_it(tmp_path: Path, not_a_database: Path, capsys) -> None:
    before = _snapshot(not_a_database)
    for argv in _read_commands(f"journal:///{not_a_database}", tmp_path):
        _assert_one_line_error(capsys, main(argv), str(not_a_database), "not a study journal")
        assert _snapshot(not_a_database) == before, argv


def test_read_commands_refuse_a_folder(tmp_path: Path, capsys) -> None:
    for argv in _read_commands(f"sqlite:///{tmp_path}", tmp_path):
        _assert_one_line_error(capsys, main(argv), str(tmp_path), "is not a file")


# --- files: search ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_search_on_a_path_under_a_regular_file_is_one_line(tmp_path: Path, tiny_space: str, capsys, scheme: str) -> None:
    """The folder cannot be created, as root too: a regular file is in the way."""
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    storage = f"{scheme}:///{blocker / 'studies.db'}"
    _assert_one_line_error(capsys, main(_search(storage, tiny_space)), str(blocker), "is a file, not a folder")
    assert blocker.read_text() == "x"


def test_search_refuses_a_file_that_is_not_a_database(not_a_database: Path, tiny_space: str, capsys) -> None:
    before = _snapshot(not_a_database)
    code = main(_search(f"sqlite:///{not_a_database}", tiny_space))
    _assert_one_line_error(capsys, code, str(not_a_database), "not a study database")
    assert _snapshot(not_a_database) == before


def test_search_refuses_a_file_that_is_not_a_journal(not_a_database: Path, tiny_space: str, capsys) -> None:
    before = _snapshot(not_a_database)
    _assert_one_line_error(capsys, main(_search(f"journal:///{not_a_database}", tiny_space)), "not a study journal")
    assert _snapshot(not_a_database) == before


# --- a journal without write permission: root runs qnas without its override of file permissions ---

ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
needs_permissions = pytest.mark.skipif(
    ROOT and not SETPRIV, reason="running as root, which writes any file, and no setpriv to drop that right"
)


@pytest.fixture
def readonly_journal(tmp_path: Path) -> Iterator[Path]:
    """A journal holding study 'demo', without write permission."""
    path = tmp_path / "studies.log"
    optuna.create_study(storage=JournalStorage(JournalFileBackend(str(path))), study_name="demo")
    path.chmod(0o444)
    yield path
    path.chmod(0o644)


def _without_override(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`qnas ARGV` in a fresh process that file permissions bind: as root, one without the
    CAP_DAC_OVERRIDE capability (dropped with setpriv), since chmod stops nothing for root otherwise."""
    code = "import sys; from qnas.cli import main; sys.exit(main(sys.argv[1:]))"
    caps = "-dac_override,-dac_read_search"
    prefix = [SETPRIV, f"--bounding-set={caps}", f"--inh-caps={caps}"] if ROOT else []
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@needs_permissions
def test_search_on_a_journal_without_write_permission_is_one_line(readonly_journal: Path, tiny_space: str) -> None:
    before = _snapshot(readonly_journal)
    done = _without_override(_search(f"journal:///{readonly_journal}", tiny_space), readonly_journal.parent)
    err = done.stderr.strip()
    assert done.returncode == 2, done.stderr
    assert err.startswith("qnas: error: ") and "\n" not in err and "Traceback" not in done.stderr
    assert str(readonly_journal) in err and "permission denied" in err
    assert _snapshot(readonly_journal) == before


@needs_permissions
@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_search_in_a_folder_without_write_permission_is_one_line(tmp_path: Path, tiny_space: str, scheme: str) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    try:
        done = _without_override(_search(f"{scheme}:///{folder / 'studies.db'}", tiny_space), tmp_path)
    finally:
        folder.chmod(0o755)
    err = done.stderr.strip()
    assert done.returncode == 2, done.stderr
    assert err.startswith("qnas: error: ") and "\n" not in err and "Traceback" not in done.stderr
    assert f"{folder} is not writable" in err
    assert list(folder.iterdir()) == []


@needs_permissions
def test_read_commands_read_a_journal_without_write_permission(readonly_journal: Path) -> None:
    """Reading needs no write permission: an archived, read-only journal can still be listed."""
    before = _snapshot(readonly_journal)
    done = _without_override(["studies", "list", "--storage", f"journal:///{readonly_journal}"], readonly_journal.parent)
    assert done.returncode == 0, done.stderr
    assert "demo" in done.stdout
    assert _snapshot(readonly_journal) == before


# --- database servers ------------------------------------------------------------------------


def test_an_unreachable_server_fails_at_once_with_one_line(tmp_path: Path, tiny_space: str, capsys) -> None:
    """A closed port: refused at start-up, reported at once instead of retried for RECONNECT_SECONDS."""
    port = _closed_port()
    storage = f"postgresql+psycopg://qnas:{PASSWORD}@127.0.0.1:{port}/qnas"
    redacted = f"postgresql+psycopg://127.0.0.1:{port}/qnas"
    for argv in [_search(storage, tiny_space), *_read_commands(storage, tmp_path)]:
        err = _assert_one_line_error(capsys, main(argv), redacted, "server is running")
        assert "refused" in err.lower() or "failed" in err.lower(), err
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "export").exists()


def _refused_login_url() -> str:
    """A login the server refuses. The CI server trusts every local login, so a wrong password cannot
    be refused there; a role and database that do not exist are refused the same way, at connect."""
    parts = urlsplit(POSTGRES)
    return urlunsplit((parts.scheme, f"nobody:{PASSWORD}@{parts.hostname}:{parts.port}", "/nodb", "", ""))


LOGIN = os.environ.get("QNAS_TEST_POSTGRES_LOGIN_URL")
"""A role of the CI server that logs in with a password (.ci/run creates it)."""


@pytest.mark.skipif(not LOGIN, reason="QNAS_TEST_POSTGRES_LOGIN_URL is not set (.ci/run sets it)")
def test_a_wrong_password_is_one_line_without_the_password(tmp_path: Path, tiny_space: str, capsys) -> None:
    assert LOGIN is not None
    assert main(["studies", "list", "--storage", LOGIN]) == 0, "the right password logs in"
    parts = urlsplit(LOGIN)
    storage = LOGIN.replace(f":{parts.password}@", f":{PASSWORD}@")
    redacted = LOGIN.replace(f"{parts.username}:{parts.password}@", "")
    for argv in [_search(storage, tiny_space), *_read_commands(storage, tmp_path)]:
        err = _assert_one_line_error(capsys, main(argv), redacted)
        assert "password authentication failed" in err, err


@needs_postgres
def test_a_refused_login_is_one_line_without_the_password(tmp_path: Path, tiny_space: str, capsys) -> None:
    storage = _refused_login_url()
    redacted = storage.replace(f"nobody:{PASSWORD}@", "")
    for argv in [_search(storage, tiny_space), *_read_commands(storage, tmp_path)]:
        err = _assert_one_line_error(capsys, main(argv), redacted)
        assert "nobody" in err or "nodb" in err, err


def test_export_without_the_weights_folder_says_where_it_was_and_creates_nothing(
    tmp_path: Path, tiny_space: str, capsys
) -> None:
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    weights = tmp_path / "weights"
    assert main([*_search(storage, tiny_space), "--artifacts", str(weights)]) == 0
    weights.rename(tmp_path / "moved")
    capsys.readouterr()
    code = main(["export", "--study", "demo", "--storage", storage, "--out", str(tmp_path / "export")])
    _assert_one_line_error(capsys, code, f"are in {weights}, which does not exist here")
    assert not weights.exists() and not (tmp_path / "export").exists()
