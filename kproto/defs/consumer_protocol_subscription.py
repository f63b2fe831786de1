"""ConsumerProtocolSubscription (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'ConsumerProtocolSubscription',
    kind='data',
    valid='0-3',
    flexible='none',
    fields=[
        F('Topics', '[]string', '0+'),
        F('UserData', 'bytes', '0+', nullable='0+', default=None, zero_copy=True),
        F('OwnedPartitions', '[]TopicPartition', '1+', ignorable=True, fields=[
            F('Topic', 'string', '1+'),
            F('Partitions', '[]int32', '1+'),
        ]),
        F('GenerationId', 'int32', '2+', default=-1, ignorable=True),
        F('RackId', 'string', '3+', nullable='3+', default=None, ignorable=True),
    ],
)
