"""StreamsGroupTopologyDescriptionUpdate (API key 93): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'StreamsGroupTopologyDescriptionUpdateRequest',
    kind='request',
    api_key=93,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('MemberId', 'string', '0+'),
        F('TopologyEpoch', 'int32', '0+'),
        F('TopologyDescription', 'TopologyDescription', '0+'),
    ],
    common=[
        S('TopologyDescription', '0+', fields=[
                F('Subtopologies', '[]TopologyDescriptionSubtopology', '0+'),
                F('GlobalStores', '[]TopologyDescriptionGlobalStore', '0+'),
        ]),
        S('TopologyDescriptionSubtopology', '0+', fields=[
                F('SubtopologyId', 'string', '0+'),
                F('Nodes', '[]TopologyDescriptionNode', '0+'),
        ]),
        S('TopologyDescriptionNode', '0+', fields=[
                F('Name', 'string', '0+'),
                F('NodeType', 'int8', '0+'),
                F('SourceTopics', '[]string', '0+'),
                F('SinkTopic', 'string', '0+', nullable='0+', default=None),
                F('Stores', '[]string', '0+'),
                F('Successors', '[]string', '0+'),
        ]),
        S('TopologyDescriptionGlobalStore', '0+', fields=[
                F('Source', 'TopologyDescriptionNode', '0+'),
                F('Processor', 'TopologyDescriptionNode', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'StreamsGroupTopologyDescriptionUpdateResponse',
    kind='response',
    api_key=93,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
    ],
)
