"""UpdateFeatures (API key 57): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'UpdateFeaturesRequest',
    kind='request',
    api_key=57,
    valid='0-2',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('timeoutMs', 'int32', '0+', default=60000),
        F('FeatureUpdates', '[]FeatureUpdateKey', '0+', fields=[
            F('Feature', 'string', '0+'),
            F('MaxVersionLevel', 'int16', '0+'),
            F('AllowDowngrade', 'bool', '0'),
            F('UpgradeType', 'int8', '1+', default=1),
        ]),
        F('ValidateOnly', 'bool', '1+', default=False),
    ],
)

RESPONSE = Message(
    'UpdateFeaturesResponse',
    kind='response',
    api_key=57,
    valid='0-2',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
        F('Results', '[]UpdatableFeatureResult', '0-1', ignorable=True, fields=[
            F('Feature', 'string', '0+'),
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+'),
        ]),
    ],
)
