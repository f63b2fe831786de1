"""Generate kproto's declarative definitions from Apache Kafka's JSON message specs.

Usage: python tools/gen_kproto_defs.py KAFKA_CLIENTS_JAR [OUT_DIR]

The specs live inside the kafka-clients jar under ``common/message/*.json``
(JSON with ``//`` comments).  This writes one module per API key under
``kproto/defs`` (``REQUEST`` and ``RESPONSE``), one per header or data schema
(``MESSAGE``), ``kproto/defs/__init__.py`` (the index) and
``kproto/api_keys.py``.  The output is committed: kproto needs no jar at run time.
"""
from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from kproto.schema import snake_case  # noqa: E402

INT_TYPES = {"int8", "int16", "int32", "int64", "uint16", "uint32"}


def strip_comments(text: str) -> str:
    """Drop ``//`` comments that are outside JSON strings."""
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def load_specs(jar: str) -> list[dict[str, Any]]:
    specs = []
    with zipfile.ZipFile(jar) as z:
        for name in sorted(z.namelist()):
            if re.fullmatch(r"common/message/[A-Za-z0-9]+\.json", name):
                specs.append(json.loads(strip_comments(z.read(name).decode())))
    if not specs:
        raise SystemExit(f"no common/message/*.json in {jar}")
    return specs


def typed_default(ftype: str, raw: Any) -> Any:
    """The spec's default string as a Python value of the field's type."""
    if isinstance(raw, str) and raw == "null":
        return None
    if ftype in INT_TYPES:
        return int(raw, 0) if isinstance(raw, str) else int(raw)
    if ftype == "bool":
        return raw if isinstance(raw, bool) else raw.strip().lower() == "true"
    if ftype == "float64":
        return float(raw)
    if ftype == "string":
        return str(raw)
    raise SystemExit(f"unsupported default {raw!r} for type {ftype}")


def render_field(f: dict[str, Any], indent: int) -> str:
    pad = " " * indent
    args = [repr(f["name"]), repr(f["type"]), repr(f["versions"])]
    if f.get("nullableVersions"):
        args.append(f"nullable={f['nullableVersions']!r}")
    if "default" in f:
        args.append(f"default={typed_default(f['type'], f['default'])!r}")
    if f.get("ignorable"):
        args.append("ignorable=True")
    if "tag" in f:
        args.append(f"tag={int(f['tag'])}")
    if f.get("taggedVersions"):
        args.append(f"tagged={f['taggedVersions']!r}")
    if "flexibleVersions" in f:
        args.append(f"flexible={f['flexibleVersions']!r}")
    if f.get("zeroCopy"):
        args.append("zero_copy=True")
    if "fields" in f:
        inner = "".join(render_field(g, indent + 4) for g in f["fields"])
        args.append(f"fields=[\n{inner}{pad}]")
    return f"{pad}F({', '.join(args)}),\n"


def render_message(spec: dict[str, Any]) -> str:
    kw = [
        f"    {spec['name']!r},",
        f"    kind={spec['type']!r},",
    ]
    if "apiKey" in spec:
        kw.append(f"    api_key={spec['apiKey']},")
    kw.append(f"    valid={spec['validVersions']!r},")
    kw.append(f"    flexible={spec.get('flexibleVersions', 'none')!r},")
    if spec.get("listeners"):
        kw.append(f"    listeners={tuple(spec['listeners'])!r},")
    if spec.get("latestVersionUnstable"):
        kw.append("    latest_unstable=True,")
    fields = "".join(render_field(f, 8) for f in spec.get("fields", []))
    kw.append(f"    fields=[\n{fields}    ],")
    if spec.get("commonStructs"):
        parts = []
        for s in spec["commonStructs"]:
            inner = "".join(render_field(g, 16) for g in s["fields"])
            parts.append(f"        S({s['name']!r}, {s['versions']!r}, fields=[\n{inner}        ]),\n")
        kw.append(f"    common=[\n{''.join(parts)}    ],")
    return "Message(\n" + "\n".join(kw) + "\n)"


HEADER = '''"""{what}

Generated from Apache Kafka {kafka}'s JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

'''


def api_name(msg_name: str) -> str:
    return re.sub(r"(Request|Response)$", "", msg_name)


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    jar = argv[1]
    out = argv[2] if len(argv) > 2 else os.path.join(os.path.dirname(HERE), "kproto", "defs")
    kafka = re.search(r"kafka-clients-([\w.\-]+)\.jar$", os.path.basename(jar))
    kafka_version = kafka.group(1) if kafka else "(unknown)"
    specs = load_specs(jar)
    os.makedirs(out, exist_ok=True)
    by_api: dict[int, dict[str, dict[str, Any]]] = {}
    others: list[dict[str, Any]] = []
    for spec in specs:
        if spec["type"] in ("request", "response"):
            by_api.setdefault(spec["apiKey"], {})[spec["type"]] = spec
        else:
            others.append(spec)
    index: list[tuple[str, str, str, int | None, str]] = []  # name, module, var, key, kind
    api_keys: list[tuple[str, int]] = []
    for key in sorted(by_api):
        pair = by_api[key]
        base = api_name(pair["request"]["name"])
        module = snake_case(base)
        api_keys.append((snake_case(base).upper(), key))
        text = HEADER.format(what=f"{base} (API key {key}): request and response.", kafka=kafka_version)
        for kind in ("request", "response"):
            text += f"{kind.upper()} = {render_message(pair[kind])}\n\n"
            index.append((pair[kind]["name"], module, kind.upper(), key, kind))
        with open(os.path.join(out, module + ".py"), "w") as fh:
            fh.write(text.rstrip() + "\n")
    for spec in sorted(others, key=lambda s: s["name"]):
        module = snake_case(spec["name"])
        text = HEADER.format(what=f"{spec['name']} ({spec['type']} schema).", kafka=kafka_version)
        text += f"MESSAGE = {render_message(spec)}\n"
        index.append((spec["name"], module, "MESSAGE", None, spec["type"]))
        with open(os.path.join(out, module + ".py"), "w") as fh:
            fh.write(text)
    lines = [
        '"""Index of kproto\'s generated definitions: message name -> where it lives.',
        "",
        f"Generated from Apache Kafka {kafka_version}'s JSON message specs by",
        "tools/gen_kproto_defs.py; do not edit by hand.",
        '"""',
        "",
        f"KAFKA_VERSION = {kafka_version!r}",
        "",
        "#: name -> (module, variable, api_key or None, kind)",
        "INDEX: dict[str, tuple[str, str, int | None, str]] = {",
    ]
    for name, module, var, key, kind in index:
        lines.append(f"    {name!r}: ({module!r}, {var!r}, {key!r}, {kind!r}),")
    lines.append("}")
    with open(os.path.join(out, "__init__.py"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    keys = [
        '"""Every Kafka API key, as an IntEnum with UPPER_SNAKE names.',
        "",
        f"Generated from Apache Kafka {kafka_version}'s JSON message specs by",
        "tools/gen_kproto_defs.py; do not edit by hand.",
        '"""',
        "from enum import IntEnum",
        "",
        "",
        "class ApiKey(IntEnum):",
        '    """API keys of every request/response pair in the specs."""',
        "",
    ]
    keys += [f"    {name} = {key}" for name, key in api_keys]
    with open(os.path.join(os.path.dirname(out), "api_keys.py"), "w") as fh:
        fh.write("\n".join(keys) + "\n")
    print(f"wrote {len(index)} messages ({len(api_keys)} API keys) from Kafka {kafka_version}")


if __name__ == "__main__":
    main(sys.argv)
