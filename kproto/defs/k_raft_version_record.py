"""KRaftVersionRecord (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'KRaftVersionRecord',
    kind='data',
    valid='0',
    flexible='0+',
    fields=[
        F('Version', 'int16', '0+'),
        F('KRaftVersion', 'int16', '0+'),
    ],
)
