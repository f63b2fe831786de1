"""ApiVersions (API key 18): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ApiVersionsRequest',
    kind='request',
    api_key=18,
    valid='0-5',
    flexible='3+',
    listeners=('broker', 'controller'),
    fields=[
        F('ClientSoftwareName', 'string', '3+', ignorable=True),
        F('ClientSoftwareVersion', 'string', '3+', ignorable=True),
        F('ClusterId', 'string', '5+', nullable='5+', default=None, ignorable=True),
        F('NodeId', 'int32', '5+', default=-1, ignorable=True),
    ],
)

RESPONSE = Message(
    'ApiVersionsResponse',
    kind='response',
    api_key=18,
    valid='0-5',
    flexible='3+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('ApiKeys', '[]ApiVersion', '0+', fields=[
            F('ApiKey', 'int16', '0+'),
            F('MinVersion', 'int16', '0+'),
            F('MaxVersion', 'int16', '0+'),
        ]),
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('SupportedFeatures', '[]SupportedFeatureKey', '3+', ignorable=True, tag=0, tagged='3+', fields=[
            F('Name', 'string', '3+'),
            F('MinVersion', 'int16', '3+'),
            F('MaxVersion', 'int16', '3+'),
        ]),
        F('FinalizedFeaturesEpoch', 'int64', '3+', default=-1, ignorable=True, tag=1, tagged='3+'),
        F('FinalizedFeatures', '[]FinalizedFeatureKey', '3+', ignorable=True, tag=2, tagged='3+', fields=[
            F('Name', 'string', '3+'),
            F('MaxVersionLevel', 'int16', '3+'),
            F('MinVersionLevel', 'int16', '3+'),
        ]),
        F('ZkMigrationReady', 'bool', '3+', default=False, ignorable=True, tag=3, tagged='3+'),
    ],
)
