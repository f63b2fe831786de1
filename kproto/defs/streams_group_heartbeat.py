"""StreamsGroupHeartbeat (API key 88): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'StreamsGroupHeartbeatRequest',
    kind='request',
    api_key=88,
    valid='0-1',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('MemberId', 'string', '0+'),
        F('MemberEpoch', 'int32', '0+'),
        F('EndpointInformationEpoch', 'int32', '0+'),
        F('InstanceId', 'string', '0+', nullable='0+', default=None),
        F('RackId', 'string', '0+', nullable='0+', default=None),
        F('RebalanceTimeoutMs', 'int32', '0+', default=-1),
        F('Topology', 'Topology', '0+', nullable='0+', default=None, fields=[
            F('Epoch', 'int32', '0+'),
            F('Subtopologies', '[]Subtopology', '0+', fields=[
                F('SubtopologyId', 'string', '0+'),
                F('SourceTopics', '[]string', '0+'),
                F('SourceTopicRegex', '[]string', '0+'),
                F('StateChangelogTopics', '[]TopicInfo', '0+'),
                F('RepartitionSinkTopics', '[]string', '0+'),
                F('RepartitionSourceTopics', '[]TopicInfo', '0+'),
                F('CopartitionGroups', '[]CopartitionGroup', '0+', fields=[
                    F('SourceTopics', '[]int16', '0+'),
                    F('SourceTopicRegex', '[]int16', '0+'),
                    F('RepartitionSourceTopics', '[]int16', '0+'),
                ]),
            ]),
        ]),
        F('ActiveTasks', '[]TaskIds', '0+', nullable='0+', default=None),
        F('StandbyTasks', '[]TaskIds', '0+', nullable='0+', default=None),
        F('WarmupTasks', '[]TaskIds', '0+', nullable='0+', default=None),
        F('ProcessId', 'string', '0+', nullable='0+', default=None),
        F('UserEndpoint', 'Endpoint', '0+', nullable='0+', default=None),
        F('ClientTags', '[]KeyValue', '0+', nullable='0+', default=None),
        F('TaskOffsets', '[]TaskOffset', '0+', nullable='0+', default=None),
        F('TaskEndOffsets', '[]TaskOffset', '0+', nullable='0+', default=None),
        F('ShutdownApplication', 'bool', '0+', default=False),
    ],
    common=[
        S('KeyValue', '0+', fields=[
                F('Key', 'string', '0+'),
                F('Value', 'string', '0+'),
        ]),
        S('TopicInfo', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Partitions', 'int32', '0+'),
                F('ReplicationFactor', 'int16', '0+'),
                F('TopicConfigs', '[]KeyValue', '0+'),
        ]),
        S('Endpoint', '0+', fields=[
                F('Host', 'string', '0+'),
                F('Port', 'uint16', '0+'),
        ]),
        S('TaskOffset', '0+', fields=[
                F('SubtopologyId', 'string', '0+'),
                F('Partition', 'int32', '0+'),
                F('Offset', 'int64', '0+'),
        ]),
        S('TaskIds', '0+', fields=[
                F('SubtopologyId', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'StreamsGroupHeartbeatResponse',
    kind='response',
    api_key=88,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        F('MemberId', 'string', '0+'),
        F('MemberEpoch', 'int32', '0+'),
        F('HeartbeatIntervalMs', 'int32', '0+'),
        F('AcceptableRecoveryLagLegacy', 'int32', '0'),
        F('TaskOffsetIntervalMs', 'int32', '0+'),
        F('AcceptableRecoveryLag', 'int64', '1+', default=-1, ignorable=True),
        F('Status', '[]Status', '0+', nullable='0+'),
        F('ActiveTasks', '[]TaskIds', '0+', nullable='0+', default=None),
        F('StandbyTasks', '[]TaskIds', '0+', nullable='0+', default=None),
        F('WarmupTasks', '[]TaskIds', '0+', nullable='0+', default=None),
        F('TopologyDescriptionRequired', 'bool', '1+', default=False),
        F('EndpointInformationEpoch', 'int32', '0+'),
        F('PartitionsByUserEndpoint', '[]EndpointToPartitions', '0+', nullable='0+', default=None, fields=[
            F('UserEndpoint', 'Endpoint', '0+'),
            F('ActivePartitions', '[]TopicPartition', '0+'),
            F('StandbyPartitions', '[]TopicPartition', '0+'),
        ]),
    ],
    common=[
        S('Status', '0+', fields=[
                F('StatusCode', 'int8', '0+'),
                F('StatusDetail', 'string', '0+'),
        ]),
        S('TopicPartition', '0+', fields=[
                F('Topic', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
        ]),
        S('TaskIds', '0+', fields=[
                F('SubtopologyId', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
        ]),
        S('Endpoint', '0+', fields=[
                F('Host', 'string', '0+'),
                F('Port', 'uint16', '0+'),
        ]),
    ],
)
