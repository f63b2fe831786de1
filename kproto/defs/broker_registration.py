"""BrokerRegistration (API key 62): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'BrokerRegistrationRequest',
    kind='request',
    api_key=62,
    valid='0-4',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('BrokerId', 'int32', '0+'),
        F('ClusterId', 'string', '0+'),
        F('IncarnationId', 'uuid', '0+'),
        F('Listeners', '[]Listener', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Host', 'string', '0+'),
            F('Port', 'uint16', '0+'),
            F('SecurityProtocol', 'int16', '0+'),
        ]),
        F('Features', '[]Feature', '0+', fields=[
            F('Name', 'string', '0+'),
            F('MinSupportedVersion', 'int16', '0+'),
            F('MaxSupportedVersion', 'int16', '0+'),
        ]),
        F('Rack', 'string', '0+', nullable='0+'),
        F('IsMigratingZkBroker', 'bool', '1+', default=False),
        F('LogDirs', '[]uuid', '2+', ignorable=True),
        F('PreviousBrokerEpoch', 'int64', '3+', default=-1, ignorable=True),
    ],
)

RESPONSE = Message(
    'BrokerRegistrationResponse',
    kind='response',
    api_key=62,
    valid='0-4',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('BrokerEpoch', 'int64', '0+', default=-1),
    ],
)
