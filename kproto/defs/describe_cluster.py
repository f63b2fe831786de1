"""DescribeCluster (API key 60): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeClusterRequest',
    kind='request',
    api_key=60,
    valid='0-2',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('IncludeClusterAuthorizedOperations', 'bool', '0+'),
        F('EndpointType', 'int8', '1+', default=1),
        F('IncludeFencedBrokers', 'bool', '2+'),
    ],
)

RESPONSE = Message(
    'DescribeClusterResponse',
    kind='response',
    api_key=60,
    valid='0-2',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        F('EndpointType', 'int8', '1+', default=1),
        F('ClusterId', 'string', '0+'),
        F('ControllerId', 'int32', '0+', default=-1),
        F('Brokers', '[]DescribeClusterBroker', '0+', fields=[
            F('BrokerId', 'int32', '0+'),
            F('Host', 'string', '0+'),
            F('Port', 'int32', '0+'),
            F('Rack', 'string', '0+', nullable='0+', default=None),
            F('IsFenced', 'bool', '2+'),
        ]),
        F('ClusterAuthorizedOperations', 'int32', '0+', default=-2147483648),
    ],
)
