"""ListGroups (API key 16): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ListGroupsRequest',
    kind='request',
    api_key=16,
    valid='0-5',
    flexible='3+',
    listeners=('broker',),
    fields=[
        F('StatesFilter', '[]string', '4+'),
        F('TypesFilter', '[]string', '5+'),
    ],
)

RESPONSE = Message(
    'ListGroupsResponse',
    kind='response',
    api_key=16,
    valid='0-5',
    flexible='3+',
    fields=[
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('ErrorCode', 'int16', '0+'),
        F('Groups', '[]ListedGroup', '0+', fields=[
            F('GroupId', 'string', '0+'),
            F('ProtocolType', 'string', '0+'),
            F('GroupState', 'string', '4+', ignorable=True),
            F('GroupType', 'string', '5+', ignorable=True),
        ]),
    ],
)
