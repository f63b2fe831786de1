"""Metadata (API key 3): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'MetadataRequest',
    kind='request',
    api_key=3,
    valid='0-13',
    flexible='9+',
    listeners=('broker',),
    fields=[
        F('Topics', '[]MetadataRequestTopic', '0+', nullable='1+', fields=[
            F('TopicId', 'uuid', '10+', ignorable=True),
            F('Name', 'string', '0+', nullable='10+'),
        ]),
        F('AllowAutoTopicCreation', 'bool', '4+', default=True),
        F('IncludeClusterAuthorizedOperations', 'bool', '8-10'),
        F('IncludeTopicAuthorizedOperations', 'bool', '8+'),
    ],
)

RESPONSE = Message(
    'MetadataResponse',
    kind='response',
    api_key=3,
    valid='0-13',
    flexible='9+',
    fields=[
        F('ThrottleTimeMs', 'int32', '3+', ignorable=True),
        F('Brokers', '[]MetadataResponseBroker', '0+', fields=[
            F('NodeId', 'int32', '0+'),
            F('Host', 'string', '0+'),
            F('Port', 'int32', '0+'),
            F('Rack', 'string', '1+', nullable='1+', default=None, ignorable=True),
        ]),
        F('ClusterId', 'string', '2+', nullable='2+', default=None, ignorable=True),
        F('ControllerId', 'int32', '1+', default=-1, ignorable=True),
        F('Topics', '[]MetadataResponseTopic', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('Name', 'string', '0+', nullable='12+'),
            F('TopicId', 'uuid', '10+', ignorable=True),
            F('IsInternal', 'bool', '1+', default=False, ignorable=True),
            F('Partitions', '[]MetadataResponsePartition', '0+', fields=[
                F('ErrorCode', 'int16', '0+'),
                F('PartitionIndex', 'int32', '0+'),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '7+', default=-1, ignorable=True),
                F('ReplicaNodes', '[]int32', '0+'),
                F('IsrNodes', '[]int32', '0+'),
                F('OfflineReplicas', '[]int32', '5+', ignorable=True),
            ]),
            F('TopicAuthorizedOperations', 'int32', '8+', default=-2147483648),
        ]),
        F('ClusterAuthorizedOperations', 'int32', '8-10', default=-2147483648),
        F('ErrorCode', 'int16', '13+', ignorable=True),
    ],
)
