"""Fetch pinned Kafka jars from Maven Central into a cache outside the work tree.

Maven does the resolving (a throwaway pom plus `dependency:copy-dependencies`),
so the dependency closure is exactly the one Apache publishes. A marker file
makes a fetch idempotent and a file lock makes concurrent fetches safe.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from .versions import MATRIX, PINNED, release

_MARKER = ".complete"
_COORD = re.compile(r"^[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


class FetchError(RuntimeError):
    """Maven could not produce the requested jars."""


def cache_root() -> Path:
    """Where jars live: $KAFKABED_CACHE, else ~/.cache/kafkabed."""
    env = os.environ.get("KAFKABED_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "kafkabed"


def _pom(coords: Sequence[str]) -> str:
    deps = []
    for coord in coords:
        group, artifact, version = coord.split(":")
        deps.append(
            "    <dependency><groupId>%s</groupId><artifactId>%s</artifactId>"
            "<version>%s</version></dependency>" % (group, artifact, version)
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>kafkabed</groupId><artifactId>fetch</artifactId><version>1</version>\n"
        "  <dependencies>\n" + "\n".join(deps) + "\n  </dependencies>\n</project>\n"
    )


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch_into(target: Path, coords: Sequence[str]) -> list[Path]:
    """Resolve `coords` into target/libs once; later calls only read the marker."""
    for coord in coords:
        if not _COORD.match(coord):
            raise ValueError(f"not a Maven coordinate group:artifact:version: {coord!r}")
    libs = target / "libs"
    marker = target / _MARKER
    wanted = "\n".join(coords)
    if marker.exists() and marker.read_text() == wanted:
        return _jars(libs)
    with _locked(target.parent / f"{target.name}.lock"):
        if marker.exists() and marker.read_text() == wanted:
            return _jars(libs)
        mvn = shutil.which("mvn")
        if mvn is None:
            raise FetchError("Maven ('mvn') is not on PATH; it is needed once to fetch the Kafka jars")
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            (work / "pom.xml").write_text(_pom(coords))
            cmd = [mvn, "-B", "-q", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
                   "-DincludeScope=runtime", f"-DoutputDirectory={work / 'libs'}"]
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
            if done.returncode != 0:
                raise FetchError(
                    f"mvn failed ({done.returncode}) fetching {', '.join(coords)}:\n"
                    f"{done.stdout[-4000:]}{done.stderr[-4000:]}"
                )
            if libs.exists():
                shutil.rmtree(libs)
            target.mkdir(parents=True, exist_ok=True)
            os.replace(work / "libs", libs)
            marker.write_text(wanted)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return _jars(libs)


def _jars(libs: Path) -> list[Path]:
    jars = sorted(libs.glob("*.jar"))
    if not jars:
        raise FetchError(f"no jars in {libs}; delete it and fetch again")
    return jars


def fetch(version: str = PINNED) -> list[Path]:
    """Make sure the broker jars of `version` are cached; return them."""
    rel = release(version)
    return _fetch_into(cache_root() / rel.version, rel.artifacts)


def kafka_jars(version: str = PINNED) -> list[Path]:
    """Every jar of the broker `version` (fetched on first use)."""
    return fetch(version)


def classpath(version: str = PINNED) -> str:
    """A Java classpath with the broker, tools and kafka-clients jars of `version`."""
    return os.pathsep.join(str(p) for p in kafka_jars(version))


def fetch_artifacts(name: str, coords: Sequence[str]) -> str:
    """Fetch extra artifacts (e.g. connect-mirror) under their own name; return a classpath.

    A different coordinate list under the same name replaces the earlier fetch.
    """
    if not _NAME.match(name):
        raise ValueError(f"artifact set name must be letters, digits, '.', '_' or '-': {name!r}")
    if not coords:
        raise ValueError("fetch_artifacts needs at least one group:artifact:version")
    jars = _fetch_into(cache_root() / "extra" / name, list(coords))
    return os.pathsep.join(str(p) for p in jars)


def fetch_all() -> dict[str, list[Path]]:
    """Fetch every broker of the version matrix (the pinned one first)."""
    return {v: fetch(v) for v in MATRIX}
