"""AbortedTxn (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'AbortedTxn',
    kind='data',
    valid='0',
    flexible='none',
    fields=[
        F('ProducerId', 'int64', '0+'),
        F('FirstOffset', 'int64', '0+'),
        F('LastOffset', 'int64', '0+'),
        F('LastStableOffset', 'int64', '0+'),
    ],
)
