"""LeaderAndIsr (API key 4): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'LeaderAndIsrRequest',
    kind='request',
    api_key=4,
    valid='none',
    flexible='none',
    fields=[
    ],
)

RESPONSE = Message(
    'LeaderAndIsrResponse',
    kind='response',
    api_key=4,
    valid='none',
    flexible='none',
    fields=[
    ],
)
