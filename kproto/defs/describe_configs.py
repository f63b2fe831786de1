"""DescribeConfigs (API key 32): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeConfigsRequest',
    kind='request',
    api_key=32,
    valid='1-4',
    flexible='4+',
    listeners=('broker', 'controller'),
    fields=[
        F('Resources', '[]DescribeConfigsResource', '0+', fields=[
            F('ResourceType', 'int8', '0+'),
            F('ResourceName', 'string', '0+'),
            F('ConfigurationKeys', '[]string', '0+', nullable='0+'),
        ]),
        F('IncludeSynonyms', 'bool', '1+', default=False),
        F('IncludeDocumentation', 'bool', '3+', default=False),
    ],
)

RESPONSE = Message(
    'DescribeConfigsResponse',
    kind='response',
    api_key=32,
    valid='1-4',
    flexible='4+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Results', '[]DescribeConfigsResult', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+'),
            F('ResourceType', 'int8', '0+'),
            F('ResourceName', 'string', '0+'),
            F('Configs', '[]DescribeConfigsResourceResult', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Value', 'string', '0+', nullable='0+'),
                F('ReadOnly', 'bool', '0+'),
                F('ConfigSource', 'int8', '1+', default=-1, ignorable=True),
                F('IsSensitive', 'bool', '0+'),
                F('Synonyms', '[]DescribeConfigsSynonym', '1+', ignorable=True, fields=[
                    F('Name', 'string', '1+'),
                    F('Value', 'string', '1+', nullable='0+'),
                    F('Source', 'int8', '1+'),
                ]),
                F('ConfigType', 'int8', '3+', default=0, ignorable=True),
                F('Documentation', 'string', '3+', nullable='0+', ignorable=True),
            ]),
        ]),
    ],
)
