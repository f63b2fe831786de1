"""DefaultPrincipalData (data schema).

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

MESSAGE = Message(
    'DefaultPrincipalData',
    kind='data',
    valid='0',
    flexible='0+',
    fields=[
        F('Type', 'string', '0+'),
        F('Name', 'string', '0+'),
        F('TokenAuthenticated', 'bool', '0+'),
    ],
)
