"""RequestHeader (header schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'RequestHeader',
    kind='header',
    valid='1-2',
    flexible='2+',
    fields=[
        F('RequestApiKey', 'int16', '0+'),
        F('RequestApiVersion', 'int16', '0+'),
        F('CorrelationId', 'int32', '0+'),
        F('ClientId', 'string', '1+', nullable='1+', flexible='none'),
    ],
)
