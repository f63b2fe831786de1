"""InitProducerId (API key 22): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'InitProducerIdRequest',
    kind='request',
    api_key=22,
    valid='0-6',
    flexible='2+',
    listeners=('broker',),
    latest_unstable=True,
    fields=[
        F('TransactionalId', 'string', '0+', nullable='0+'),
        F('TransactionTimeoutMs', 'int32', '0+'),
        F('ProducerId', 'int64', '3+', default=-1),
        F('ProducerEpoch', 'int16', '3+', default=-1),
        F('Enable2Pc', 'bool', '6+', default=False),
        F('KeepPreparedTxn', 'bool', '6+', default=False),
    ],
)

RESPONSE = Message(
    'InitProducerIdResponse',
    kind='response',
    api_key=22,
    valid='0-6',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+', ignorable=True),
        F('ErrorCode', 'int16', '0+'),
        F('ProducerId', 'int64', '0+', default=-1),
        F('ProducerEpoch', 'int16', '0+'),
        F('OngoingTxnProducerId', 'int64', '6+', default=-1),
        F('OngoingTxnProducerEpoch', 'int16', '6+', default=-1),
    ],
)
