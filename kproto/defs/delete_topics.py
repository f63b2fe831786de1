"""DeleteTopics (API key 20): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DeleteTopicsRequest',
    kind='request',
    api_key=20,
    valid='1-6',
    flexible='4+',
    listeners=('broker', 'controller'),
    fields=[
        F('Topics', '[]DeleteTopicState', '6+', fields=[
            F('Name', 'string', '6+', nullable='6+', default=None),
            F('TopicId', 'uuid', '6+'),
        ]),
        F('TopicNames', '[]string', '0-5', ignorable=True),
        F('TimeoutMs', 'int32', '0+'),
    ],
)

RESPONSE = Message(
    'DeleteTopicsResponse',
    kind='response',
    api_key=20,
    valid='1-6',
    flexible='4+',
    fields=[
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('Responses', '[]DeletableTopicResult', '0+', fields=[
            F('Name', 'string', '0+', nullable='6+'),
            F('TopicId', 'uuid', '6+', ignorable=True),
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '5+', nullable='5+', default=None, ignorable=True),
        ]),
    ],
)
