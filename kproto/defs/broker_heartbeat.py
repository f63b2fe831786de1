"""BrokerHeartbeat (API key 63): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'BrokerHeartbeatRequest',
    kind='request',
    api_key=63,
    valid='0-2',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('BrokerId', 'int32', '0+'),
        F('BrokerEpoch', 'int64', '0+', default=-1),
        F('CurrentMetadataOffset', 'int64', '0+'),
        F('WantFence', 'bool', '0+'),
        F('WantShutDown', 'bool', '0+'),
        F('OfflineLogDirs', '[]uuid', '1+', tag=0, tagged='1+'),
        F('CordonedLogDirs', '[]uuid', '2+', nullable='2+', default=None, tag=1, tagged='2+'),
    ],
)

RESPONSE = Message(
    'BrokerHeartbeatResponse',
    kind='response',
    api_key=63,
    valid='0-2',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('IsCaughtUp', 'bool', '0+', default=False),
        F('IsFenced', 'bool', '0+', default=True),
        F('ShouldShutDown', 'bool', '0+'),
    ],
)
