"""CreateAcls (API key 30): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'CreateAclsRequest',
    kind='request',
    api_key=30,
    valid='1-3',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('Creations', '[]AclCreation', '0+', fields=[
            F('ResourceType', 'int8', '0+'),
            F('ResourceName', 'string', '0+'),
            F('ResourcePatternType', 'int8', '1+', default=3),
            F('Principal', 'string', '0+'),
            F('Host', 'string', '0+'),
            F('Operation', 'int8', '0+'),
            F('PermissionType', 'int8', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'CreateAclsResponse',
    kind='response',
    api_key=30,
    valid='1-3',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Results', '[]AclCreationResult', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+'),
        ]),
    ],
)
