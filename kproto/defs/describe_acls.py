"""DescribeAcls (API key 29): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeAclsRequest',
    kind='request',
    api_key=29,
    valid='1-3',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('ResourceTypeFilter', 'int8', '0+'),
        F('ResourceNameFilter', 'string', '0+', nullable='0+'),
        F('PatternTypeFilter', 'int8', '1+', default=3),
        F('PrincipalFilter', 'string', '0+', nullable='0+'),
        F('HostFilter', 'string', '0+', nullable='0+'),
        F('Operation', 'int8', '0+'),
        F('PermissionType', 'int8', '0+'),
    ],
)

RESPONSE = Message(
    'DescribeAclsResponse',
    kind='response',
    api_key=29,
    valid='1-3',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
        F('Resources', '[]DescribeAclsResource', '0+', fields=[
            F('ResourceType', 'int8', '0+'),
            F('ResourceName', 'string', '0+'),
            F('PatternType', 'int8', '1+', default=3),
            F('Acls', '[]AclDescription', '0+', fields=[
                F('Principal', 'string', '0+'),
                F('Host', 'string', '0+'),
                F('Operation', 'int8', '0+'),
                F('PermissionType', 'int8', '0+'),
            ]),
        ]),
    ],
)
