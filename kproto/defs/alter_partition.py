"""AlterPartition (API key 56): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AlterPartitionRequest',
    kind='request',
    api_key=56,
    valid='2-3',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('BrokerId', 'int32', '0+'),
        F('BrokerEpoch', 'int64', '0+', default=-1),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicId', 'uuid', '2+', ignorable=True),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+'),
                F('NewIsr', '[]int32', '0-2'),
                F('NewIsrWithEpochs', '[]BrokerState', '3+', fields=[
                    F('BrokerId', 'int32', '3+'),
                    F('BrokerEpoch', 'int64', '3+', default=-1),
                ]),
                F('LeaderRecoveryState', 'int8', '1+', default=0),
                F('PartitionEpoch', 'int32', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'AlterPartitionResponse',
    kind='response',
    api_key=56,
    valid='2-3',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicId', 'uuid', '2+', ignorable=True),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+'),
                F('Isr', '[]int32', '0+'),
                F('LeaderRecoveryState', 'int8', '1+', default=0, ignorable=True),
                F('PartitionEpoch', 'int32', '0+'),
            ]),
        ]),
    ],
)
