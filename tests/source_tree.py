"""Parse the project's own sources for tests that check imports and names.

Python 3.11.7's AST constructor raises "AST constructor recursion depth
mismatch" when a garbage collection runs a finaliser (a leftover asyncio task
logging its exception, say) in the middle of the build. Earlier tests in the
same process leave such garbage, so collect first and keep the collector off
while the tree is built.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path


def parse_source(text: str, filename: str = "<unknown>") -> ast.Module:
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(text, filename)
    finally:
        if was_enabled:
            gc.enable()


def parse_file(path: Path) -> ast.Module:
    return parse_source(path.read_text(), str(path))
