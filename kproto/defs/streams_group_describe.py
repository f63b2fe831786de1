"""StreamsGroupDescribe (API key 89): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'StreamsGroupDescribeRequest',
    kind='request',
    api_key=89,
    valid='0-1',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupIds', '[]string', '0+'),
        F('IncludeAuthorizedOperations', 'bool', '0+'),
        F('IncludeTopologyDescription', 'bool', '1+', default=False),
    ],
)

RESPONSE = Message(
    'StreamsGroupDescribeResponse',
    kind='response',
    api_key=89,
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
            F('Topology', 'Topology', '0+', nullable='0+', default=None, fields=[
                F('Epoch', 'int32', '0+'),
                F('Subtopologies', '[]Subtopology', '0+', nullable='0+', default=None, fields=[
                    F('SubtopologyId', 'string', '0+'),
                    F('SourceTopics', '[]string', '0+'),
                    F('RepartitionSinkTopics', '[]string', '0+'),
                    F('StateChangelogTopics', '[]TopicInfo', '0+'),
                    F('RepartitionSourceTopics', '[]TopicInfo', '0+'),
                ]),
            ]),
            F('Members', '[]Member', '0+', fields=[
                F('MemberId', 'string', '0+'),
                F('MemberEpoch', 'int32', '0+'),
                F('InstanceId', 'string', '0+', nullable='0+', default=None),
                F('RackId', 'string', '0+', nullable='0+', default=None),
                F('ClientId', 'string', '0+'),
                F('ClientHost', 'string', '0+'),
                F('TopologyEpoch', 'int32', '0+'),
                F('ProcessId', 'string', '0+'),
                F('UserEndpoint', 'Endpoint', '0+', nullable='0+', default=None),
                F('ClientTags', '[]KeyValue', '0+'),
                F('TaskOffsets', '[]TaskOffset', '0+'),
                F('TaskEndOffsets', '[]TaskOffset', '0+'),
                F('Assignment', 'Assignment', '0+'),
                F('TargetAssignment', 'Assignment', '0+'),
                F('IsClassic', 'bool', '0+'),
            ]),
            F('AuthorizedOperations', 'int32', '0+', default=-2147483648),
            F('TopologyDescription', 'TopologyDescription', '1+', nullable='1+', default=None),
            F('TopologyDescriptionStatus', 'int8', '1+', default=0),
            F('AssignorName', 'string', '1+', nullable='1+', default=None, ignorable=True),
        ]),
    ],
    common=[
        S('Endpoint', '0+', fields=[
                F('Host', 'string', '0+'),
                F('Port', 'uint16', '0+'),
        ]),
        S('TaskOffset', '0+', fields=[
                F('SubtopologyId', 'string', '0+'),
                F('Partition', 'int32', '0+'),
                F('Offset', 'int64', '0+'),
        ]),
        S('Assignment', '0+', fields=[
                F('ActiveTasks', '[]TaskIds', '0+'),
                F('StandbyTasks', '[]TaskIds', '0+'),
                F('WarmupTasks', '[]TaskIds', '0+'),
        ]),
        S('TaskIds', '0+', fields=[
                F('SubtopologyId', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
        ]),
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
        S('TopologyDescription', '1+', fields=[
                F('Subtopologies', '[]TopologyDescriptionSubtopology', '1+'),
                F('GlobalStores', '[]TopologyDescriptionGlobalStore', '1+'),
        ]),
        S('TopologyDescriptionSubtopology', '1+', fields=[
                F('SubtopologyId', 'string', '1+'),
                F('Nodes', '[]TopologyDescriptionNode', '1+'),
        ]),
        S('TopologyDescriptionNode', '1+', fields=[
                F('Name', 'string', '1+'),
                F('NodeType', 'int8', '1+'),
                F('SourceTopics', '[]string', '1+'),
                F('SinkTopic', 'string', '1+', nullable='1+', default=None),
                F('Stores', '[]string', '1+'),
                F('Successors', '[]string', '1+'),
        ]),
        S('TopologyDescriptionGlobalStore', '1+', fields=[
                F('Source', 'TopologyDescriptionNode', '1+'),
                F('Processor', 'TopologyDescriptionNode', '1+'),
        ]),
    ],
)
