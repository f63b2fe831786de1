"""The one base type for malformed Kafka wire data.

Kept in its own tiny module so every part of kproto (message codec, record
layer) can derive from it without importing each other; ``kproto`` re-exports
it as ``kproto.KprotoError``.
"""


class KprotoError(Exception):
    """Raised for malformed or unsupported input anywhere in kproto."""
