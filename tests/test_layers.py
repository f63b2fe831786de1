"""The layer rules of docs/architecture.md, checked on the source itself.

Imports go downward only (kproto <- linker.client <- the rest of linker), no two
modules import each other at run time, only linker.client builds Kafka requests, and Kafka
error codes appear by name (kproto.errors.ErrorCode), never as numbers.
Every rule is read from the AST, so a violation names the file and line.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Iterator

import pytest

from kproto.errors import ErrorCode
from tests.source_tree import parse_file, parse_source

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kproto", "linker")
ERROR_NAMES = frozenset(ErrorCode.__members__)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            out[_module_name(path)] = (path, parse_file(path))
    return out


SOURCES = _sources()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = SOURCES[module][0].name == "__init__.py"
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree` except those under ``if TYPE_CHECKING:`` (annotations, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            yield from (n for child in node.orelse for n in _runtime_nodes_of(child))
            continue
        yield from _runtime_nodes_of(node)


def _runtime_nodes_of(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    yield from _runtime_nodes(node)


def _imports(module: str) -> Iterator[tuple[str, int]]:
    """Every project module `module` imports at run time (at any depth of the file), with its line.
    Imports under ``if TYPE_CHECKING:`` only name types for annotations and are not counted."""
    for node in _runtime_nodes(SOURCES[module][1]):
        if isinstance(node, ast.Import):
            targets = [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            targets = [(f"{base}.{a.name}", node.lineno) for a in node.names] + [(base, node.lineno)]
        else:
            continue
        for name, line in targets:
            # The longest project module the name refers to (``from x import y`` may name a function).
            while name and name not in SOURCES:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name, line


def _edges() -> dict[str, dict[str, int]]:
    return {m: dict(_imports(m)) for m in SOURCES}


EDGES = _edges()


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{SOURCES[m][0].relative_to(ROOT)}:{line} imports {target}"
            for m, targets in EDGES.items() if _in(m, importer)
            for target, line in targets.items() if any(_in(target, f) for f in forbidden)]


def _outside_imports(module: str) -> Iterator[tuple[str, int]]:
    """Top-level names of the non-project packages `module` imports at run time."""
    for node in _runtime_nodes(SOURCES[module][1]):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if root not in PACKAGES:
                yield root, node.lineno


def _outside_violations(room: str, allowed: set[str]) -> list[str]:
    allowed = allowed | set(sys.stdlib_module_names)
    return [f"{SOURCES[m][0].relative_to(ROOT)}:{line} imports {root}"
            for m in SOURCES if _in(m, room)
            for root, line in _outside_imports(m) if root not in allowed]


def test_kproto_imports_no_linker_and_only_its_codecs() -> None:
    assert _violations("kproto", ("linker",)) == []
    assert _outside_violations("kproto", {"lz4", "zstandard", "cramjam", "crc32c"}) == []


def _rooms_except(*keep: str) -> tuple[str, ...]:
    """Every second-level room of linker (linker.x) outside `keep`."""
    rooms = {".".join(m.split(".")[:2]) for m in SOURCES if _in(m, "linker") and m != "linker"}
    return tuple(sorted(r for r in rooms if not any(_in(r, k) for k in keep)))


def test_client_imports_only_kproto_and_itself() -> None:
    above = _rooms_except("linker.client")
    assert above, "no linker package above the client was found"
    assert _violations("linker.client", above) == []
    assert _outside_violations("linker.client", {"uvloop"}) == []


def test_settings_import_only_the_client() -> None:
    assert _violations("linker.settings", _rooms_except("linker.client", "linker.settings")) == []
    assert _outside_violations("linker.settings", set()) == []


def test_nothing_below_the_app_imports_it() -> None:
    assert [f"{SOURCES[m][0].relative_to(ROOT)}:{line} imports {target}"
            for m, targets in EDGES.items() if not _in(m, "linker.app")
            for target, line in targets.items() if _in(target, "linker.app")] == []


def test_mirror_imports_no_command_or_proxy() -> None:
    forbidden = tuple(p for p in ("linker.verify", "linker.lifecycle", "linker.proxy", "linker.cli",
                                  "linker.app", "linker.status"))
    assert _violations("linker.mirror", forbidden) == []


def test_no_two_modules_import_each_other() -> None:
    pairs = sorted({tuple(sorted((a, b))) for a, targets in EDGES.items() for b in targets
                    if a in EDGES.get(b, {}) and not _is_package_of(a, b)})
    assert pairs == []


def _is_package_of(a: str, b: str) -> bool:
    """A package's __init__ re-exporting its own submodule is not a cycle between peers."""
    return _in(b, a) or _in(a, b)


def _request_builders(module: str) -> Iterator[int]:
    """Lines where `module` instantiates a Kafka request message."""
    for node in ast.walk(SOURCES[module][1]):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name.endswith("Request") and name[:1].isupper() and name not in {"Request"}:
                yield node.lineno


def test_only_the_client_builds_kafka_requests() -> None:
    found = [f"{SOURCES[m][0].relative_to(ROOT)}:{line}"
             for m in SOURCES if _in(m, "linker") and not _in(m, "linker.client")
             for line in _request_builders(m)]
    assert found == []


def _mentions_code(node: ast.AST) -> bool:
    text = ast.unparse(node).lower()
    return "error" in text or "code" in text


def _int_literal(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    return None


def _literals(node: ast.AST) -> list[int]:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [v for e in node.elts if (v := _int_literal(e)) is not None]
    v = _int_literal(node)
    return [] if v is None else [v]


def _bare_error_numbers(module: str) -> Iterator[str]:
    for node in ast.walk(SOURCES[module][1]):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_mentions_code(s) for s in sides if not _literals(s)):
                for s in sides:
                    if any(v != 0 for v in _literals(s)):
                        yield f"{node.lineno}: {ast.unparse(node)}"
        elif isinstance(node, ast.keyword) and node.arg in {"error_code", "code"}:
            if any(v != 0 for v in _literals(node.value)):
                yield f"{node.value.lineno}: {node.arg}={ast.unparse(node.value)}"
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ERROR_NAMES and _literals(node.value):
                    yield f"{node.lineno}: {target.id} = {ast.unparse(node.value)}"


@pytest.mark.parametrize("module", sorted(m for m in SOURCES if _in(m, "linker")))
def test_no_bare_error_numbers(module: str) -> None:
    assert list(_bare_error_numbers(module)) == [], SOURCES[module][0].relative_to(ROOT)


def test_the_scanners_see_what_they_look_for() -> None:
    """The rules above pass trivially if the scanners never match: feed them known violations."""
    SOURCES["linker._probe"] = (ROOT / "linker" / "_probe.py", parse_source(
        "NOT_COORDINATOR = 16\n"
        "if r.error_code == 6: pass\n"
        "if p.error_code in (5, 6): pass\n"
        "x = E(code=37)\n"
        "if r.error_code == 0: pass\n"
        "req = messages.MetadataRequest(topics=None)\n"))
    try:
        assert len(list(_bare_error_numbers("linker._probe"))) == 4
        assert list(_request_builders("linker._probe")) == [6]
    finally:
        del SOURCES["linker._probe"]
