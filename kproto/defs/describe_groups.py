"""DescribeGroups (API key 15): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeGroupsRequest',
    kind='request',
    api_key=15,
    valid='0-6',
    flexible='5+',
    listeners=('broker',),
    fields=[
        F('Groups', '[]string', '0+'),
        F('IncludeAuthorizedOperations', 'bool', '3+'),
    ],
)

RESPONSE = Message(
    'DescribeGroupsResponse',
    kind='response',
    api_key=15,
    valid='0-6',
    flexible='5+',
    fields=[
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('Groups', '[]DescribedGroup', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '6+', nullable='6+', default=None),
            F('GroupId', 'string', '0+'),
            F('GroupState', 'string', '0+'),
            F('ProtocolType', 'string', '0+'),
            F('ProtocolData', 'string', '0+'),
            F('Members', '[]DescribedGroupMember', '0+', fields=[
                F('MemberId', 'string', '0+'),
                F('GroupInstanceId', 'string', '4+', nullable='4+', default=None, ignorable=True),
                F('ClientId', 'string', '0+'),
                F('ClientHost', 'string', '0+'),
                F('MemberMetadata', 'bytes', '0+'),
                F('MemberAssignment', 'bytes', '0+'),
            ]),
            F('AuthorizedOperations', 'int32', '3+', default=-2147483648),
        ]),
    ],
)
