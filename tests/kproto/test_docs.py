"""The embedding examples in docs/kproto.md and the README run as written."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("doc", ["docs/kproto.md", "README.md"])
def test_docs_example_runs(doc: str) -> None:
    path = ROOT / doc
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    assert blocks, f"{doc} lost its python example"
    for block in blocks:
        exec(compile(block, str(path), "exec"), {"__name__": "kproto_docs_example"})  # noqa: S102
