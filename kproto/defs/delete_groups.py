"""DeleteGroups (API key 42): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DeleteGroupsRequest',
    kind='request',
    api_key=42,
    valid='0-3',
    flexible='2+',
    listeners=('broker',),
    fields=[
        F('GroupsNames', '[]string', '0+'),
    ],
)

RESPONSE = Message(
    'DeleteGroupsResponse',
    kind='response',
    api_key=42,
    valid='0-3',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Results', '[]DeletableGroupResult', '0+', fields=[
            F('GroupId', 'string', '0+'),
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '3+', nullable='3+', default=None, ignorable=True),
        ]),
    ],
)
