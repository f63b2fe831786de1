"""ResponseHeader (header schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'ResponseHeader',
    kind='header',
    valid='0-1',
    flexible='1+',
    fields=[
        F('CorrelationId', 'int32', '0+'),
    ],
)
