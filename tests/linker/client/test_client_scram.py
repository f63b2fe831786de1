"""SCRAM math against the RFC 5802 (SHA-1) and RFC 7677 (SHA-256) test vectors."""
from __future__ import annotations

import base64

import pytest

from linker.client import scram


@pytest.mark.parametrize("hash_name,client_nonce,server_first,client_final,server_final", [
    ("sha1", "fyko+d2lbbFgONRv9qkxdawL",
     "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
     "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
     "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
    ("sha256", "rOprNGfwEbeRWgbNEkqO",
     "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
     "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
     "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
])
def test_rfc_vectors(hash_name: str, client_nonce: str, server_first: str, client_final: str,
                     server_final: str) -> None:
    first_bare = scram.client_first_bare("user", client_nonce)
    assert first_bare == f"n=user,r={client_nonce}"
    final = scram.client_final(hash_name, "pencil", first_bare, server_first, client_nonce)
    assert final.message == client_final
    scram.verify_server_final(server_final, final.server_signature)


def test_wrong_server_signature_is_rejected() -> None:
    nonce = "rOprNGfwEbeRWgbNEkqO"
    first_bare = scram.client_first_bare("user", nonce)
    final = scram.client_final("sha256", "pencil", first_bare,
                               f"r={nonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", nonce)
    forged = "v=" + base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(scram.ScramError, match="does not verify"):
        scram.verify_server_final(forged, final.server_signature)


def test_server_nonce_must_extend_client_nonce() -> None:
    with pytest.raises(scram.ScramError, match="nonce"):
        scram.client_final("sha256", "pw", "n=u,r=abc", "r=zzzabc,s=AAAA,i=4096", "abc")


def test_server_error_attribute_is_reported() -> None:
    with pytest.raises(scram.ScramError, match="invalid-proof"):
        scram.verify_server_final("e=invalid-proof", b"")


@pytest.mark.parametrize("message", ["garbage", "r=abc", "r=abcd,s=***,i=4096",
                                     "r=abcd,s=AAAA,i=many", "r=abcd,s=AAAA,i=0"])
def test_malformed_server_first(message: str) -> None:
    with pytest.raises(scram.ScramError):
        scram.client_final("sha256", "pw", "n=u,r=abc", message, "abc")


def test_username_escaping() -> None:
    assert scram.saslname("a=b,c") == "a=3Db=2Cc"


def test_nonces_are_fresh() -> None:
    assert len({scram.make_nonce() for _ in range(100)}) == 100
