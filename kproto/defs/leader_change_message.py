"""LeaderChangeMessage (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'LeaderChangeMessage',
    kind='data',
    valid='0-1',
    flexible='0+',
    fields=[
        F('Version', 'int16', '0+'),
        F('LeaderId', 'int32', '0+'),
        F('Voters', '[]Voter', '0+'),
        F('GrantingVoters', '[]Voter', '0+'),
    ],
    common=[
        S('Voter', '0+', fields=[
                F('VoterId', 'int32', '0+'),
                F('VoterDirectoryId', 'uuid', '1+'),
        ]),
    ],
)
