"""CreateTopics (API key 19): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'CreateTopicsRequest',
    kind='request',
    api_key=19,
    valid='2-7',
    flexible='5+',
    listeners=('broker', 'controller'),
    fields=[
        F('Topics', '[]CreatableTopic', '0+', fields=[
            F('Name', 'string', '0+'),
            F('NumPartitions', 'int32', '0+'),
            F('ReplicationFactor', 'int16', '0+'),
            F('Assignments', '[]CreatableReplicaAssignment', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('BrokerIds', '[]int32', '0+'),
            ]),
            F('Configs', '[]CreatableTopicConfig', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Value', 'string', '0+', nullable='0+'),
            ]),
        ]),
        F('timeoutMs', 'int32', '0+', default=60000),
        F('validateOnly', 'bool', '1+', default=False),
    ],
)

RESPONSE = Message(
    'CreateTopicsResponse',
    kind='response',
    api_key=19,
    valid='2-7',
    flexible='5+',
    fields=[
        F('ThrottleTimeMs', 'int32', '2+', ignorable=True),
        F('Topics', '[]CreatableTopicResult', '0+', fields=[
            F('Name', 'string', '0+'),
            F('TopicId', 'uuid', '7+', ignorable=True),
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '1+', nullable='0+', ignorable=True),
            F('TopicConfigErrorCode', 'int16', '5+', ignorable=True, tag=0, tagged='5+'),
            F('NumPartitions', 'int32', '5+', default=-1, ignorable=True),
            F('ReplicationFactor', 'int16', '5+', default=-1, ignorable=True),
            F('Configs', '[]CreatableTopicConfigs', '5+', nullable='5+', ignorable=True, fields=[
                F('Name', 'string', '5+'),
                F('Value', 'string', '5+', nullable='5+'),
                F('ReadOnly', 'bool', '5+'),
                F('ConfigSource', 'int8', '5+', default=-1, ignorable=True),
                F('IsSensitive', 'bool', '5+'),
            ]),
        ]),
    ],
)
