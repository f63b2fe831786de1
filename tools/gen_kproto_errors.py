"""Generate kproto/errors.py from Kafka's own Errors enum.

Usage: python tools/gen_kproto_errors.py CLASSPATH [OUT_FILE]

CLASSPATH must hold the pinned kafka-clients jar (and slf4j-api).  The tool
compiles tools/ErrorsDump.java, runs it, and writes the table: code, name,
whether the exception is a RetriableException, and the default message.  The
output is committed; kproto needs no JVM at run time.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "kproto", "errors.py")

TEMPLATE = '''"""Every Kafka error code: name, whether it is retriable, and its default message.

Generated from Apache Kafka {kafka}'s org.apache.kafka.common.protocol.Errors by
tools/gen_kproto_errors.py; do not edit the table by hand.
"""
from __future__ import annotations

import enum
from typing import NamedTuple

__all__ = ["ErrorCode", "ErrorInfo", "ERRORS", "BY_NAME", "error_info"]


class ErrorCode(enum.IntEnum):
    """Kafka's error codes by name; compare response fields with these, never with numbers."""

{members}
    @property
    def retriable(self) -> bool:
        """Whether Kafka's exception for this code is a RetriableException."""
        return ERRORS[self.value].retriable


class ErrorInfo(NamedTuple):
    """One Kafka error code."""

    code: int
    name: str
    retriable: bool
    message: str


ERRORS: dict[int, ErrorInfo] = {{
{rows}}}

BY_NAME: dict[str, ErrorInfo] = {{e.name: e for e in ERRORS.values()}}


def error_info(code: int) -> ErrorInfo:
    """The entry for ``code``; an unknown code maps to an UNKNOWN entry, as in Kafka."""
    info = ERRORS.get(code)
    if info is None:
        return ErrorInfo(code, "UNKNOWN", False, f"unknown Kafka error code {{code}}")
    return info
'''


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    cp = argv[1]
    out = argv[2] if len(argv) == 3 else OUT
    m = re.search(r"kafka-clients-([\w.\-]+)\.jar", cp)
    kafka = m.group(1) if m else "(unknown)"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["javac", "-d", tmp, "-cp", cp, os.path.join(HERE, "ErrorsDump.java")], check=True)
        res = subprocess.run(["java", "-Xmx128m", "-cp", cp + os.pathsep + tmp, "ErrorsDump"],
                             check=True, capture_output=True, text=True)
    table = []
    for line in res.stdout.splitlines():
        code, name, retriable, message = line.split("\t", 3)
        table.append((int(code), name, retriable == "true", message))
    write(out, kafka, table)


def write(out: str, kafka: str, table: list[tuple[int, str, bool, str]]) -> None:
    """Write the module for ``table`` (code, name, retriable, message) rows."""
    rows = "".join(f"    {c}: ErrorInfo({c}, {n!r}, {r}, {m!r}),\n" for c, n, r, m in table)
    members = "".join(f"    {n} = {c}\n" for c, n, _, _ in table)
    with open(out, "w") as fh:
        fh.write(TEMPLATE.format(kafka=kafka, rows=rows, members=members))
    print(f"wrote {len(table)} error codes from Kafka {kafka}")


if __name__ == "__main__":
    main(sys.argv)
