"""EndTxnMarker (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'EndTxnMarker',
    kind='data',
    valid='0',
    flexible='none',
    fields=[
        F('CoordinatorEpoch', 'int32', '0+'),
    ],
)
