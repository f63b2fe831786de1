"""VotersRecord (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'VotersRecord',
    kind='data',
    valid='0',
    flexible='0+',
    fields=[
        F('Version', 'int16', '0+'),
        F('Voters', '[]Voter', '0+', fields=[
            F('VoterId', 'int32', '0+'),
            F('VoterDirectoryId', 'uuid', '0+'),
            F('Endpoints', '[]Endpoint', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Host', 'string', '0+'),
                F('Port', 'uint16', '0+'),
            ]),
            F('KRaftVersionFeature', 'KRaftVersionFeature', '0+', fields=[
                F('MinSupportedVersion', 'int16', '0+'),
                F('MaxSupportedVersion', 'int16', '0+'),
            ]),
        ]),
    ],
)
