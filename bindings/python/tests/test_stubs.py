"""The type stubs (_native.pyi) describe the compiled module: same names, same parameters."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import faultline
from faultline import _native

STUB = Path(faultline.__file__).with_name("_native.pyi")


def stub_tree():
    return ast.parse(STUB.read_text())


def params(fn: ast.FunctionDef) -> list[tuple[str, str]]:
    a = fn.args
    out = [(p.arg, "positional") for p in a.posonlyargs + a.args]
    out += [(p.arg, "keyword") for p in a.kwonlyargs]
    return [p for p in out if p[0] not in ("self", "cls")]


def runtime_params(obj) -> list[tuple[str, str]]:
    sig = inspect.signature(obj)
    kind = {
        inspect.Parameter.POSITIONAL_ONLY: "positional",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.KEYWORD_ONLY: "keyword",
    }
    return [(n, kind[p.kind]) for n, p in sig.parameters.items() if n not in ("self", "cls", "$self", "$cls")]


def test_stub_and_module_have_the_same_public_names():
    tree = stub_tree()
    stub_names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stub_names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not node.target.id.startswith("__") or node.target.id == "__version__":
                stub_names.add(node.target.id)
    runtime = {n for n in dir(_native) if not (n.startswith("__") and n != "__version__")}
    assert stub_names == runtime, (stub_names ^ runtime)


def test_function_signatures_match():
    for node in stub_tree().body:
        if isinstance(node, ast.FunctionDef):
            assert params(node) == runtime_params(getattr(_native, node.name)), node.name


def test_classes_match():
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(_native, node.name)
        bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        if bases and bases[0] != "Exception":
            assert cls.__bases__[0].__name__ == bases[0], node.name
        if issubclass(cls, BaseException):
            continue
        stub_methods = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
        runtime_methods = {n for n in vars(cls) if not n.startswith("__") or n in stub_methods}
        assert set(stub_methods) - {"__new__"} <= set(dir(cls)), node.name
        assert {n for n in runtime_methods if not n.startswith("_")} <= set(stub_methods), node.name
        for name, f in stub_methods.items():
            is_property = any(isinstance(d, ast.Name) and d.id == "property" for d in f.decorator_list)
            if is_property or name.startswith("__") and name != "__new__":
                continue
            target = cls if name == "__new__" else getattr(cls, name)
            assert params(f) == runtime_params(target), f"{node.name}.{name}"


def test_package_ships_py_typed():
    assert STUB.with_name("py.typed").exists()


def test_mypy_stubtest_accepts_the_stub():
    """mypy's stubtest imports the compiled module and checks every name, signature, default
    and class in _native.pyi against it (mypy pinned in requirements-test.txt; no allowlist)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "faultline._native"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_package_type_checks_with_mypy():
    """The pure-Python layer (faultline/__init__.py) is consistent with the stub under mypy."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "../pyproject.toml", "-p", "faultline"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
