"""Produce (API key 0): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ProduceRequest',
    kind='request',
    api_key=0,
    valid='3-13',
    flexible='9+',
    listeners=('broker',),
    fields=[
        F('TransactionalId', 'string', '3+', nullable='3+', default=None),
        F('Acks', 'int16', '0+'),
        F('TimeoutMs', 'int32', '0+'),
        F('TopicData', '[]TopicProduceData', '0+', fields=[
            F('Name', 'string', '0-12', ignorable=True),
            F('TopicId', 'uuid', '13+', ignorable=True),
            F('PartitionData', '[]PartitionProduceData', '0+', fields=[
                F('Index', 'int32', '0+'),
                F('Records', 'records', '0+', nullable='0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'ProduceResponse',
    kind='response',
    api_key=0,
    valid='3-13',
    flexible='9+',
    fields=[
        F('Responses', '[]TopicProduceResponse', '0+', fields=[
            F('Name', 'string', '0-12', ignorable=True),
            F('TopicId', 'uuid', '13+', ignorable=True),
            F('PartitionResponses', '[]PartitionProduceResponse', '0+', fields=[
                F('Index', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('BaseOffset', 'int64', '0+'),
                F('LogAppendTimeMs', 'int64', '2+', default=-1, ignorable=True),
                F('LogStartOffset', 'int64', '5+', default=-1, ignorable=True),
                F('RecordErrors', '[]BatchIndexAndErrorMessage', '8+', ignorable=True, fields=[
                    F('BatchIndex', 'int32', '8+'),
                    F('BatchIndexErrorMessage', 'string', '8+', nullable='8+', default=None),
                ]),
                F('ErrorMessage', 'string', '8+', nullable='8+', default=None, ignorable=True),
                F('CurrentLeader', 'LeaderIdAndEpoch', '10+', tag=0, tagged='10+', fields=[
                    F('LeaderId', 'int32', '10+', default=-1),
                    F('LeaderEpoch', 'int32', '10+', default=-1),
                ]),
            ]),
        ]),
        F('ThrottleTimeMs', 'int32', '1+', default=0, ignorable=True),
        F('NodeEndpoints', '[]NodeEndpoint', '10+', tag=0, tagged='10+', fields=[
            F('NodeId', 'int32', '10+'),
            F('Host', 'string', '10+'),
            F('Port', 'int32', '10+'),
            F('Rack', 'string', '10+', nullable='10+', default=None),
        ]),
    ],
)
