"""DescribeTransactions (API key 65): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeTransactionsRequest',
    kind='request',
    api_key=65,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('TransactionalIds', '[]string', '0+'),
    ],
)

RESPONSE = Message(
    'DescribeTransactionsResponse',
    kind='response',
    api_key=65,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('TransactionStates', '[]TransactionState', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('TransactionalId', 'string', '0+'),
            F('TransactionState', 'string', '0+'),
            F('TransactionTimeoutMs', 'int32', '0+'),
            F('TransactionStartTimeMs', 'int64', '0+'),
            F('ProducerId', 'int64', '0+'),
            F('ProducerEpoch', 'int16', '0+'),
            F('Topics', '[]TopicData', '0+', fields=[
                F('Topic', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
            ]),
        ]),
    ],
)
