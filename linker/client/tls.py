"""TLS context construction: verify the broker by default."""
from __future__ import annotations

import functools
import ssl

from .config import TlsSettings


def build_ssl_context(settings: TlsSettings) -> ssl.SSLContext:
    """A client context trusting `ca_file` (or the system store).

    Hostname verification stays on unless the caller turns it off
    explicitly; a missing file is reported by name rather than as errno.
    """
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
    except (FileNotFoundError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load TLS CA file {settings.ca_file!r}: {exc}") from None
    context.check_hostname = settings.check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if settings.cert_file is not None:
        try:
            context.load_cert_chain(settings.cert_file, settings.key_file,
                                    password=settings.key_password)
        except (FileNotFoundError, ssl.SSLError) as exc:
            # exc text names the file problem, never the key password.
            raise ValueError(
                f"cannot load TLS client certificate {settings.cert_file!r}: {exc}") from None
    return context


@functools.lru_cache(maxsize=16)
def cached_ssl_context(settings: TlsSettings) -> ssl.SSLContext:
    """One context per settings: loading a CA bundle per connection is slow."""
    return build_ssl_context(settings)
