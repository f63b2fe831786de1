"""TLS material and SASL users for test clusters.

Certificates are made at start: one CA, one broker certificate valid for
127.0.0.1 and localhost (shared by every node), and one client certificate for
mutual TLS. With openssl, brokers read PEM files directly (ssl.keystore.type=PEM)
and Python clients use the same files. Without openssl, the JDK's keytool makes
a PKCS12 broker keystore and exports the CA as PEM (no client key then: keytool
cannot export private keys, so mutual TLS needs openssl).
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
    """Paths of the TLS material. A PEM `broker_keystore` holds the broker key followed by its
    certificate; a PKCS12 one is protected by `keystore_password`."""

    ca_cert: Path
    broker_keystore: Path
    client_cert: Path | None
    client_key: Path | None
    keystore_type: str = "PEM"
    keystore_password: str | None = None


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


def make_tls(directory: Path, days: int = 30, tool: str | None = None) -> TlsFiles:
    """Create a CA and a broker certificate for 127.0.0.1/localhost (and, with openssl, a
    client certificate). `tool` forces "openssl" or "keytool"; default: openssl if present."""
    if tool is None:
        tool = "openssl" if shutil.which("openssl") else "keytool"
    if tool not in ("openssl", "keytool"):
        raise ValueError(f"tool must be 'openssl' or 'keytool', got {tool!r}")
    if shutil.which(tool) is None:
        raise RuntimeError(f"{tool} is needed to create the test TLS certificates and is not on PATH")
    directory.mkdir(parents=True, exist_ok=True)
    return _with_openssl(directory, days) if tool == "openssl" else _with_keytool(directory, days)


def _with_openssl(d: Path, days: int) -> TlsFiles:
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


_KEYSTORE_PASSWORD = "kafkabed-keystore"


def _keytool(*args: str, cwd: Path, stdin: str | None = None) -> None:
    # keytool is a JVM per call: the C1-only JIT and class-data sharing halve its start-up.
    fast = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-J-Xshare:auto"]
    done = subprocess.run(["keytool", *fast, *args, "-storepass", _KEYSTORE_PASSWORD, "-noprompt"],
                          cwd=cwd, capture_output=True, text=True, input=stdin)
    if done.returncode != 0:
        raise RuntimeError(f"keytool {args[0]} failed: {(done.stdout + done.stderr).strip()}")


def _with_keytool(d: Path, days: int) -> TlsFiles:
    common = ["-storetype", "PKCS12", "-keyalg", "RSA", "-keysize", "2048", "-validity", str(days)]
    _keytool("-genkeypair", "-alias", "ca", "-dname", "CN=kafkabed test CA", "-ext", "bc:c=ca:true",
             "-ext", "ku:c=keyCertSign,cRLSign", "-keystore", "ca.p12", *common, cwd=d)
    _keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca.pem", cwd=d)
    _keytool("-genkeypair", "-alias", "broker", "-dname", "CN=localhost", "-keystore", "broker.p12",
             *common, cwd=d)
    _keytool("-certreq", "-alias", "broker", "-keystore", "broker.p12", "-file", "broker.csr", cwd=d)
    _keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile", "broker.csr", "-outfile",
             "broker.pem", "-rfc", "-validity", str(days), "-ext", "SAN=dns:localhost,ip:127.0.0.1",
             "-ext", "EKU=serverAuth,clientAuth", cwd=d)
    # The signed certificate followed by the CA: keytool imports the reply as a whole chain.
    (d / "broker-chain.pem").write_text((d / "broker.pem").read_text() + (d / "ca.pem").read_text())
    _keytool("-importcert", "-alias", "broker", "-keystore", "broker.p12", "-file", "broker-chain.pem",
             "-trustcacerts", cwd=d)
    return TlsFiles(ca_cert=d / "ca.pem", broker_keystore=d / "broker.p12", client_cert=None,
                    client_key=None, keystore_type="PKCS12", keystore_password=_KEYSTORE_PASSWORD)
