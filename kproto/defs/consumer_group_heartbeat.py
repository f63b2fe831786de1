"""ConsumerGroupHeartbeat (API key 68): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ConsumerGroupHeartbeatRequest',
    kind='request',
    api_key=68,
    valid='0-1',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('MemberId', 'string', '0+'),
        F('MemberEpoch', 'int32', '0+'),
        F('InstanceId', 'string', '0+', nullable='0+', default=None),
        F('RackId', 'string', '0+', nullable='0+', default=None),
        F('RebalanceTimeoutMs', 'int32', '0+', default=-1),
        F('SubscribedTopicNames', '[]string', '0+', nullable='0+', default=None),
        F('SubscribedTopicRegex', 'string', '1+', nullable='1+', default=None),
        F('ServerAssignor', 'string', '0+', nullable='0+', default=None),
        F('TopicPartitions', '[]TopicPartitions', '0+', nullable='0+', default=None, fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'ConsumerGroupHeartbeatResponse',
    kind='response',
    api_key=68,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        F('MemberId', 'string', '0+', nullable='0+', default=None),
        F('MemberEpoch', 'int32', '0+'),
        F('HeartbeatIntervalMs', 'int32', '0+'),
        F('Assignment', 'Assignment', '0+', nullable='0+', default=None, fields=[
            F('TopicPartitions', '[]TopicPartitions', '0+'),
        ]),
    ],
    common=[
        S('TopicPartitions', '0+', fields=[
                F('TopicId', 'uuid', '0+'),
                F('Partitions', '[]int32', '0+'),
        ]),
    ],
)
