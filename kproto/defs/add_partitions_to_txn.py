"""AddPartitionsToTxn (API key 24): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AddPartitionsToTxnRequest',
    kind='request',
    api_key=24,
    valid='0-5',
    flexible='3+',
    listeners=('broker',),
    fields=[
        F('Transactions', '[]AddPartitionsToTxnTransaction', '4+', fields=[
            F('TransactionalId', 'string', '4+'),
            F('ProducerId', 'int64', '4+'),
            F('ProducerEpoch', 'int16', '4+'),
            F('VerifyOnly', 'bool', '4+', default=False),
            F('Topics', '[]AddPartitionsToTxnTopic', '4+'),
        ]),
        F('V3AndBelowTransactionalId', 'string', '0-3'),
        F('V3AndBelowProducerId', 'int64', '0-3'),
        F('V3AndBelowProducerEpoch', 'int16', '0-3'),
        F('V3AndBelowTopics', '[]AddPartitionsToTxnTopic', '0-3'),
    ],
    common=[
        S('AddPartitionsToTxnTopic', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'AddPartitionsToTxnResponse',
    kind='response',
    api_key=24,
    valid='0-5',
    flexible='3+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '4+', ignorable=True),
        F('ResultsByTransaction', '[]AddPartitionsToTxnResult', '4+', fields=[
            F('TransactionalId', 'string', '4+'),
            F('TopicResults', '[]AddPartitionsToTxnTopicResult', '4+'),
        ]),
        F('ResultsByTopicV3AndBelow', '[]AddPartitionsToTxnTopicResult', '0-3'),
    ],
    common=[
        S('AddPartitionsToTxnTopicResult', '0+', fields=[
                F('Name', 'string', '0+'),
                F('ResultsByPartition', '[]AddPartitionsToTxnPartitionResult', '0+'),
        ]),
        S('AddPartitionsToTxnPartitionResult', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('PartitionErrorCode', 'int16', '0+'),
        ]),
    ],
)
