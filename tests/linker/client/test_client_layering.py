"""linker.client sits right above kproto, and is where Kafka requests are built."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import linker

LINKER = Path(linker.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:   # relative: inside the same package
                out.add("." * node.level + (node.module or ""))
            elif node.module:
                out.add(node.module)
    return out


def test_client_imports_only_kproto_and_the_standard_library() -> None:
    allowed_roots = {"kproto", "uvloop"} | set(sys.stdlib_module_names)
    for path in sorted((LINKER / "client").glob("*.py")):
        for name in _imports(path):
            if name.startswith("."):
                continue
            assert name.split(".")[0] in allowed_roots or name.startswith("linker.client"), \
                f"{path.name} imports {name}"


def test_lifecycle_and_status_build_no_requests() -> None:
    """They talk to Kafka through linker.client only: no kproto messages, no kafka_io."""
    paths = [*sorted((LINKER / "lifecycle").glob("*.py")), LINKER / "status.py",
             LINKER / "status_view.py", LINKER / "connect.py"]
    for path in paths:
        for name in _imports(path):
            assert name not in ("kproto.messages", "linker.mirror.kafka_io"), f"{path.name} imports {name}"
        text = path.read_text()
        assert "from kproto import messages" not in text and "Request(" not in text, path.name
