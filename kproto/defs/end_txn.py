"""EndTxn (API key 26): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'EndTxnRequest',
    kind='request',
    api_key=26,
    valid='0-5',
    flexible='3+',
    listeners=('broker',),
    fields=[
        F('TransactionalId', 'string', '0+'),
        F('ProducerId', 'int64', '0+'),
        F('ProducerEpoch', 'int16', '0+'),
        F('Committed', 'bool', '0+'),
    ],
)

RESPONSE = Message(
    'EndTxnResponse',
    kind='response',
    api_key=26,
    valid='0-5',
    flexible='3+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ProducerId', 'int64', '5+', default=-1, ignorable=True),
        F('ProducerEpoch', 'int16', '5+', default=-1, ignorable=True),
    ],
)
