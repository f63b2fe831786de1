"""ShareAcknowledge (API key 79): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ShareAcknowledgeRequest',
    kind='request',
    api_key=79,
    valid='1-2',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+', nullable='0+', default=None),
        F('MemberId', 'string', '0+', nullable='0+'),
        F('ShareSessionEpoch', 'int32', '0+'),
        F('IsRenewAck', 'bool', '2+', default=False),
        F('Topics', '[]AcknowledgeTopic', '0+', fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]AcknowledgePartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('AcknowledgementBatches', '[]AcknowledgementBatch', '0+', fields=[
                    F('FirstOffset', 'int64', '0+'),
                    F('LastOffset', 'int64', '0+'),
                    F('AcknowledgeTypes', '[]int8', '0+'),
                ]),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'ShareAcknowledgeResponse',
    kind='response',
    api_key=79,
    valid='1-2',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        F('AcquisitionLockTimeoutMs', 'int32', '2+', ignorable=True),
        F('Responses', '[]ShareAcknowledgeTopicResponse', '0+', fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
                F('CurrentLeader', 'LeaderIdAndEpoch', '0+', fields=[
                    F('LeaderId', 'int32', '0+'),
                    F('LeaderEpoch', 'int32', '0+'),
                ]),
            ]),
        ]),
        F('NodeEndpoints', '[]NodeEndpoint', '0+', fields=[
            F('NodeId', 'int32', '0+'),
            F('Host', 'string', '0+'),
            F('Port', 'int32', '0+'),
            F('Rack', 'string', '0+', nullable='0+', default=None),
        ]),
    ],
)
