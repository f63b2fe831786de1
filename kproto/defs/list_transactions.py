"""ListTransactions (API key 66): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ListTransactionsRequest',
    kind='request',
    api_key=66,
    valid='0-2',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('StateFilters', '[]string', '0+'),
        F('ProducerIdFilters', '[]int64', '0+'),
        F('DurationFilter', 'int64', '1+', default=-1),
        F('TransactionalIdPattern', 'string', '2+', nullable='2+', default=None),
    ],
)

RESPONSE = Message(
    'ListTransactionsResponse',
    kind='response',
    api_key=66,
    valid='0-2',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('UnknownStateFilters', '[]string', '0+'),
        F('TransactionStates', '[]TransactionState', '0+', fields=[
            F('TransactionalId', 'string', '0+'),
            F('ProducerId', 'int64', '0+'),
            F('TransactionState', 'string', '0+'),
        ]),
    ],
)
