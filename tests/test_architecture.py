"""Structural rules of STYLE.md that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dollarbill_research"
KERNEL_FILES = sorted((PACKAGE / "kernels").glob("*.py"))
ALL_FILES = sorted(PACKAGE.rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.name)
def test_kernels_import_only_numpy_math_and_numba(path: Path) -> None:
    allowed = {
        "__future__",
        "math",
        "numpy",
        "numba",
        "dollarbill_research",
        "collections",
        "typing",
        "cmath",
    }
    if path.name in {"_jit.py", "_numba_overheads.py"}:
        # the compile machinery (no kernels): the garbage collector's thresholds while a root
        # compiles, LLVM pass managers, and what numba's closure inliner looks for
        allowed |= {"gc", "contextlib", "functools", "llvmlite"}
    assert _imported_modules(path) <= allowed, (
        f"{path.name} imports {_imported_modules(path) - allowed}"
    )


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_jit_options_come_from_one_place(path: Path) -> None:
    if path.name == "_jit.py":
        return
    text = path.read_text()
    assert "fastmath" not in text, f"{path.name}: no fastmath on money"
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "numba":
            names = {a.name for a in node.names}
            assert not names & {"njit", "jit"}, f"{path.name}: use dollarbill_research.kernels._jit"


MAX_KERNEL_ARGS = 8
_JIT_DECORATORS = {"jit", "jit_inner", "jit_parallel"}


def _kernel_functions() -> list[tuple[Path, ast.FunctionDef]]:
    found = []
    for path in KERNEL_FILES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                (isinstance(d, ast.Name) and d.id in _JIT_DECORATORS)
                or (isinstance(d, ast.Attribute) and d.attr in _JIT_DECORATORS)
                for d in node.decorator_list
            ):
                found.append((path, node))
    return found


def test_kernel_signatures_take_at_most_eight_arguments() -> None:
    # STYLE.md: kernels take a few typed records (kernels/records.py, kernels/params.py), not
    # long positional lists; group what travels together instead of adding an argument
    assert len(_kernel_functions()) > 50  # the walk finds the kernels
    wide = []
    for path, fn in _kernel_functions():
        a = fn.args
        n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
        n += (a.vararg is not None) + (a.kwarg is not None)
        if n > MAX_KERNEL_ARGS:
            wide.append(f"{path.relative_to(PACKAGE)}:{fn.lineno} {fn.name} takes {n} arguments")
    assert not wide, (
        f"kernels with more than {MAX_KERNEL_ARGS} arguments: {wide}; hint: pass the records of "
        "kernels/records.py (Market, SignalBlock, Book, Records, Candidate, Room ...) or a tuple"
    )


def test_kernels_read_parameters_by_name() -> None:
    # the BP_* / PP_* index constants say where a setting sits in the config vectors; kernels
    # read the named fields of the parameter record (params.max_portfolio_delta)
    layout = {"records.py", "codes.py", "params.py"}
    by_index = re.compile(r"\b(?:BP|PP)_(?!LEN\b)[A-Z_]+\b")
    offenders = {
        p.name: sorted(set(by_index.findall(p.read_text())))
        for p in KERNEL_FILES
        if p.name not in layout and by_index.search(p.read_text())
    }
    assert not offenders, f"kernels name parameter indices: {offenders}"


def test_no_module_is_a_giant() -> None:
    too_long = {
        str(p.relative_to(PACKAGE)): n
        for p in ALL_FILES
        if (n := len(p.read_text().splitlines())) > 600
    }
    assert not too_long, f"split these files: {too_long}"


def _inner_kernels() -> set[str]:
    names: set[str] = set()
    for path in KERNEL_FILES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "jit_inner" for d in node.decorator_list
            ):
                names.add(node.name)
    return names


def test_wrapperless_kernels_are_named_only_by_kernels() -> None:
    # a ``jit_inner`` kernel has no Python wrapper: Python code (package, tests, benchmarks,
    # notebooks) must not call it, so it must not even name it
    root = PACKAGE.parent
    inner = _inner_kernels()
    assert len(inner) > 20
    outside = [p for p in ALL_FILES if p.parent.name != "kernels"]
    outside += sorted((root / "tests").rglob("*.py")) + sorted((root / "benchmarks").glob("*.py"))
    outside += sorted((root / "notebooks").glob("*.ipynb"))
    text = "\n".join(p.read_text() for p in outside)
    named = sorted(n for n in inner if re.search(rf"\b{n}\b", text.replace(f"def {n}(", "")))
    assert not named, f"Python code names wrapper-less kernels {named}; use @jit for those"


def test_calling_a_wrapperless_kernel_from_python_is_a_clear_error() -> None:
    from dollarbill_research.kernels._jit import jit_inner

    @jit_inner
    def _twice(x: float) -> float:  # pragma: no cover - never runs in Python
        return 2.0 * x

    with pytest.raises(TypeError, match="_twice is a kernel helper"):
        _twice(1.0)
