"""The wheel maps envs/, agents/ and search_spaces/ under qnas and every module imports from it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("qnas-*.whl")
    return path


FOLDERS = {"qnas": "qnas", "envs": "qnas.envs", "agents": "qnas.agents", "search_spaces": "qnas.search_spaces"}


def _modules(names: list[str]) -> list[str]:
    return sorted(n[:-3].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py"))


def _source_modules() -> list[str]:
    """Module names the source tree defines, through the folder-to-package mapping."""
    names = []
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            names.append(f"{package.replace('.', '/')}/{path.relative_to(ROOT / folder)}")
    return _modules(names)


def test_wheel_installs_only_the_qnas_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/", 1)[0] for n in names}
    assert top_level == {"qnas", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    for subpackage in ("envs", "agents", "search_spaces"):
        assert f"qnas/{subpackage}/__init__.py" in names
    assert any(n.startswith("qnas/search_spaces/") and n.endswith(".yaml") for n in names)
    entry_points = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info/entry_points.txt")
    assert b"qnas = qnas.cli:main" in entry_points


def test_every_module_imports_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    modules = _modules(zipfile.ZipFile(wheel).namelist())
    assert modules == _source_modules(), "a subpackage is missing from [tool.setuptools] packages"
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(target)!r})\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(target)!r}), (name, module.__file__)\n"
        "print('imported', len(sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported" in result.stdout
