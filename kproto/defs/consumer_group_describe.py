"""ConsumerGroupDescribe (API key 69): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ConsumerGroupDescribeRequest',
    kind='request',
    api_key=69,
    valid='0-1',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupIds', '[]string', '0+'),
        F('IncludeAuthorizedOperations', 'bool', '0+'),
    ],
)

RESPONSE = Message(
    'ConsumerGroupDescribeResponse',
    kind='response',
    api_key=69,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Groups', '[]DescribedGroup', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
            F('GroupId', 'string', '0+'),
            F('GroupState', 'string', '0+'),
            F('GroupEpoch', 'int32', '0+'),
            F('AssignmentEpoch', 'int32', '0+'),
            F('AssignorName', 'string', '0+'),
            F('Members', '[]Member', '0+', fields=[
                F('MemberId', 'string', '0+'),
                F('InstanceId', 'string', '0+', nullable='0+', default=None),
                F('RackId', 'string', '0+', nullable='0+', default=None),
                F('MemberEpoch', 'int32', '0+'),
                F('ClientId', 'string', '0+'),
                F('ClientHost', 'string', '0+'),
                F('SubscribedTopicNames', '[]string', '0+'),
                F('SubscribedTopicRegex', 'string', '0+', nullable='0+', default=None),
                F('Assignment', 'Assignment', '0+'),
                F('TargetAssignment', 'Assignment', '0+'),
                F('MemberType', 'int8', '1+', default=-1, ignorable=True),
            ]),
            F('AuthorizedOperations', 'int32', '0+', default=-2147483648),
        ]),
    ],
    common=[
        S('TopicPartitions', '0+', fields=[
                F('TopicId', 'uuid', '0+'),
                F('TopicName', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
        ]),
        S('Assignment', '0+', fields=[
                F('TopicPartitions', '[]TopicPartitions', '0+'),
        ]),
    ],
)
