"""TLS material and SASL users for test clusters.

Certificates are made at start with openssl: one CA, one broker certificate
valid for 127.0.0.1 and localhost (shared by every node), and one client
certificate for mutual TLS. Brokers read PEM files directly (ssl.keystore.type=PEM),
and Python clients use the same PEM files, so nothing needs converting.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: Default users: every user can log in with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
#: "admin" is the brokers' own identity and the super user when an authorizer is on.
DEFAULT_USERS: dict[str, str] = {
    "admin": "admin-secret",
    "alice": "alice-secret",
    "bob": "bob-secret",
}
ADMIN = "admin"
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class TlsFiles:
    """PEM paths; `broker_keystore` holds the broker key followed by its certificate."""

    ca_cert: Path
    broker_keystore: Path
    client_cert: Path
    client_key: Path


@dataclass(frozen=True)
class Users:
    """SASL users and their passwords (same password for every mechanism)."""

    passwords: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_USERS))

    def __post_init__(self) -> None:
        if ADMIN not in self.passwords:
            raise ValueError(f"the user set must contain {ADMIN!r}, the brokers' own identity")
        for name, password in self.passwords.items():
            for text in (name, password):
                if not text or any(c in text for c in '"=,[] \\'):
                    raise ValueError(f"SASL user names/passwords must be plain words: {text!r}")

    def password(self, user: str) -> str:
        try:
            return self.passwords[user]
        except KeyError:
            raise ValueError(f"unknown SASL user {user!r}; known: {', '.join(self.passwords)}") from None


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {done.stderr.strip()}")


def make_tls(directory: Path, days: int = 30) -> TlsFiles:
    """Create a CA, a broker certificate for 127.0.0.1/localhost and a client certificate."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is needed to create the test TLS certificates")
    directory.mkdir(parents=True, exist_ok=True)
    d = directory
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", str(days), "-subj", "/CN=kafkabed test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    (d / "broker.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                  "extendedKeyUsage=serverAuth,clientAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who, cn in (("broker", "localhost"), ("client", "kafkabed-client")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
                 "-subj", f"/CN={cn}", cwd=d)
        _openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{who}.pem", "-days", str(days),
                 "-extfile", f"{who}.ext", cwd=d)
    keystore = d / "broker-keystore.pem"
    keystore.write_text((d / "broker.key").read_text() + (d / "broker.pem").read_text())
    return TlsFiles(ca_cert=d / "ca.pem", broker_keystore=keystore,
                    client_cert=d / "client.pem", client_key=d / "client.key")
