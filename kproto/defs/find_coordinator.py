"""FindCoordinator (API key 10): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'FindCoordinatorRequest',
    kind='request',
    api_key=10,
    valid='0-6',
    flexible='3+',
    listeners=('broker',),
    fields=[
        F('Key', 'string', '0-3'),
        F('KeyType', 'int8', '1+', default=0),
        F('CoordinatorKeys', '[]string', '4+'),
    ],
)

RESPONSE = Message(
    'FindCoordinatorResponse',
    kind='response',
    api_key=10,
    valid='0-6',
    flexible='3+',
    fields=[
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('ErrorCode', 'int16', '0-3'),
        F('ErrorMessage', 'string', '1-3', nullable='1-3', ignorable=True),
        F('NodeId', 'int32', '0-3'),
        F('Host', 'string', '0-3'),
        F('Port', 'int32', '0-3'),
        F('Coordinators', '[]Coordinator', '4+', fields=[
            F('Key', 'string', '4+'),
            F('NodeId', 'int32', '4+'),
            F('Host', 'string', '4+'),
            F('Port', 'int32', '4+'),
            F('ErrorCode', 'int16', '4+'),
            F('ErrorMessage', 'string', '4+', nullable='4+', ignorable=True),
        ]),
    ],
)
