"""The embedding example in docs/kproto.md runs as written."""
from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "kproto.md"


def test_docs_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/kproto.md lost its python example"
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {"__name__": "kproto_docs_example"})  # noqa: S102
