"""ConsumerProtocolAssignment (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'ConsumerProtocolAssignment',
    kind='data',
    valid='0-3',
    flexible='none',
    fields=[
        F('AssignedPartitions', '[]TopicPartition', '0+', fields=[
            F('Topic', 'string', '0+'),
            F('Partitions', '[]int32', '0+'),
        ]),
        F('UserData', 'bytes', '0+', nullable='0+', default=None, zero_copy=True),
    ],
)
