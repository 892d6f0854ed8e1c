"""The layer rule (docs/architecture.md) holds on the tree, and its contract catches a breach."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """Run the contracts of pyproject.toml over the packages found in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(PYPROJECT)],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False)


def copy_of_the_apps(tmp_path: Path) -> Path:
    """Copy the Python source of every package the contracts name into ``tmp_path``."""
    packages = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["root_packages"]
    for package in packages:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_not_source)
    return tmp_path


def _not_source(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"
            or ((Path(folder) / name).is_file() and not name.endswith(".py"))]


def test_the_tree_keeps_every_contract():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "source", "breach"), [
    ("incidents/_probe.py", "from registry import models\n", "incidents is not allowed to import registry"),
    # A function-level import is an import too: deferring it does not hide it.
    ("verification/_probe.py", "def late():\n    from moderation import services\n",
     "verification is not allowed to import moderation"),
    ("tabular/_probe.py", "import incidents.models\n", "tabular is not allowed to import incidents"),
    # Siblings on one layer stay independent of each other.
    ("dashboards/_probe.py", "from operations import selectors\n",
     "dashboards is not allowed to import operations"),
    ("audit/_probe.py", "from accounts import models\n", "audit is not allowed to import accounts"),
    ("registry/_probe.py", "from config import urls\n", "registry._probe -> config.urls"),
    # Results are read through verification.selectors, never from verification's models.
    ("moderation/_probe.py", "from verification.models import CheckResult\n",
     "moderation._probe -> verification.models"),
    ("registry/_probe.py", "def late():\n    from verification import verdict\n",
     "registry._probe -> verification.verdict"),
    # The API plumbing every app shares stays below them all.
    ("config/api.py", "from incidents import serializers\n", "config.api -> incidents.serializers"),
    # The chain families build on the shared bases, never on each other.
    ("verification/clients/esplora.py", "def late():\n    from verification.clients import evm\n",
     "verification.clients.esplora -> verification.clients.evm"),
    ("verification/checks/bitcoin.py", "from verification.checks.transfers import CheckOutcome\n",
     "verification.checks.bitcoin -> verification.checks.transfers"),
    # Tasks import services, never the reverse: a circle between two modules of a package breaks.
    ("verification/trade_evidence.py", "from verification import tasks\n",
     "No cycles are allowed in verification"),
])
def test_the_contracts_fail_on_an_import_against_the_layers(tmp_path, module, source, breach):
    tree = copy_of_the_apps(tmp_path)
    (tree / module).write_text(source)

    result = lint_imports(tree)

    assert result.returncode == 1, result.stdout + result.stderr
    assert breach in result.stdout
    assert "1 broken" in result.stdout
