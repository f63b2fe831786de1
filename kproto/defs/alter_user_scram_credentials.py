"""AlterUserScramCredentials (API key 51): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AlterUserScramCredentialsRequest',
    kind='request',
    api_key=51,
    valid='0',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('Deletions', '[]ScramCredentialDeletion', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Mechanism', 'int8', '0+'),
        ]),
        F('Upsertions', '[]ScramCredentialUpsertion', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Mechanism', 'int8', '0+'),
            F('Iterations', 'int32', '0+'),
            F('Salt', 'bytes', '0+'),
            F('SaltedPassword', 'bytes', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'AlterUserScramCredentialsResponse',
    kind='response',
    api_key=51,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Results', '[]AlterUserScramCredentialsResult', '0+', fields=[
            F('User', 'string', '0+'),
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+'),
        ]),
    ],
)
