"""ShareFetch (API key 78): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ShareFetchRequest',
    kind='request',
    api_key=78,
    valid='1-2',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+', nullable='0+', default=None),
        F('MemberId', 'string', '0+', nullable='0+'),
        F('ShareSessionEpoch', 'int32', '0+'),
        F('MaxWaitMs', 'int32', '0+'),
        F('MinBytes', 'int32', '0+'),
        F('MaxBytes', 'int32', '0+', default=2147483647),
        F('MaxRecords', 'int32', '1+'),
        F('BatchSize', 'int32', '1+'),
        F('ShareAcquireMode', 'int8', '2+', default=0, ignorable=True),
        F('IsRenewAck', 'bool', '2+', default=False),
        F('Topics', '[]FetchTopic', '0+', fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]FetchPartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('PartitionMaxBytes', 'int32', '0'),
                F('AcknowledgementBatches', '[]AcknowledgementBatch', '0+', fields=[
                    F('FirstOffset', 'int64', '0+'),
                    F('LastOffset', 'int64', '0+'),
                    F('AcknowledgeTypes', '[]int8', '0+'),
                ]),
            ]),
        ]),
        F('ForgottenTopicsData', '[]ForgottenTopic', '0+', fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'ShareFetchResponse',
    kind='response',
    api_key=78,
    valid='1-2',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        F('AcquisitionLockTimeoutMs', 'int32', '1+'),
        F('Responses', '[]ShareFetchableTopicResponse', '0+', fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
                F('AcknowledgeErrorCode', 'int16', '0+'),
                F('AcknowledgeErrorMessage', 'string', '0+', nullable='0+', default=None),
                F('CurrentLeader', 'LeaderIdAndEpoch', '0+', fields=[
                    F('LeaderId', 'int32', '0+'),
                    F('LeaderEpoch', 'int32', '0+'),
                ]),
                F('Records', 'records', '0+', nullable='0'),
                F('AcquiredRecords', '[]AcquiredRecords', '0+', fields=[
                    F('FirstOffset', 'int64', '0+'),
                    F('LastOffset', 'int64', '0+'),
                    F('DeliveryCount', 'int16', '0+'),
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
