"""ShareGroupHeartbeat (API key 76): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ShareGroupHeartbeatRequest',
    kind='request',
    api_key=76,
    valid='1',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('MemberId', 'string', '0+'),
        F('MemberEpoch', 'int32', '0+'),
        F('RackId', 'string', '0+', nullable='0+', default=None),
        F('SubscribedTopicNames', '[]string', '0+', nullable='0+', default=None),
    ],
)

RESPONSE = Message(
    'ShareGroupHeartbeatResponse',
    kind='response',
    api_key=76,
    valid='1',
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
