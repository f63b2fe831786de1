"""The service examples stay true to the code: the Kubernetes sidecar's link file is valid,
its probes ask the linker's /status on the port the link file listens on, and the systemd
unit's commands are ones the `linker` command accepts."""
from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import yaml

from linker.app.cli import _parser
from linker.settings import parse_config

OPS = Path(__file__).resolve().parents[2] / "ops"


def test_kubernetes_sidecar_probes_the_status_endpoint_of_a_valid_link():
    docs = list(yaml.safe_load_all((OPS / "kubernetes" / "linker-sidecar.yaml").read_text()))
    [cm] = [d for d in docs if d["kind"] == "ConfigMap"]
    config = parse_config(tomllib.loads(cm["data"]["link.toml"]))
    [sts] = [d for d in docs if d["kind"] == "StatefulSet"]
    [linker] = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "linker"]
    _parser().parse_args(linker["args"])
    ports = {p["name"]: p["containerPort"] for p in linker["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        get = linker[probe]["httpGet"]
        assert get["path"] == "/status" and ports[get["port"]] == config.metrics.port
    assert sts["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(config.metrics.port)


def test_systemd_unit_runs_linker_commands():
    unit = (OPS / "systemd" / "linker@.service").read_text()
    commands = [line.split("=", 1)[1] for line in unit.splitlines()
                if line.lstrip("#").startswith(("ExecStart=", "ExecStartPre="))]
    assert len(commands) == 2
    for command in commands:
        argv = shlex.split(command.replace("%i", "link"))
        assert argv[0].endswith("/linker")
        _parser().parse_args(argv[1:])
