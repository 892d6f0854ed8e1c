"""Functions stay short (issue 10): half of them 8 lines or fewer, nine in ten 20 or fewer.

ruff bounds each function's branches and statements (pyproject.toml); this counts lines over
the whole tree, so that long functions cannot pile up one exception at a time.
"""

import ast
import statistics
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]


def function_lengths(source: str) -> list[int]:
    """Return the line count of every function and method in ``source``, decorators aside."""
    return [node.end_lineno - node.lineno + 1 for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def tree_lengths() -> list[int]:
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
             if "migrations" not in path.parts]
    return [length for path in files for length in function_lengths(path.read_text())]


def test_function_lengths_are_counted_from_def_to_last_line():
    source = ("def short():\n    return 1\n\n\n"
              "class A:\n    def method(self):\n        x = 1\n\n        return x\n")

    assert function_lengths(source) == [2, 4]


def test_half_of_the_functions_are_8_lines_or_fewer_and_nine_in_ten_20_or_fewer():
    lengths = tree_lengths()

    assert len(lengths) > 500  # the walk found the tree
    assert statistics.median(lengths) <= 8
    assert sum(length <= 20 for length in lengths) / len(lengths) >= 0.9
