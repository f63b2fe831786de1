"""ControlledShutdown (API key 7): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ControlledShutdownRequest',
    kind='request',
    api_key=7,
    valid='none',
    flexible='none',
    fields=[
    ],
)

RESPONSE = Message(
    'ControlledShutdownResponse',
    kind='response',
    api_key=7,
    valid='none',
    flexible='none',
    fields=[
    ],
)
