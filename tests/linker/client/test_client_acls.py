"""ACL calls and authorization errors against a broker running StandardAuthorizer."""
from __future__ import annotations

import pytest

from linker.client import (AclBinding, Admin, AclFilter, AclOperation, AclPermission, AuthorizationError,
                           ClientConfig, Client, NewTopic, PatternType, ResourceType,
                           SaslCredentials, SecurityConfig, run)


def _client(cluster, user: str) -> Client:
    info = cluster.listener("SASL_PLAINTEXT")
    config = ClientConfig(security=SecurityConfig(
        "SASL_PLAINTEXT", sasl=SaslCredentials("SCRAM-SHA-256", user, info.users[user])))
    return Client(info.bootstrap, config)


def test_create_describe_delete_acls_and_authorization_errors(authorizer_cluster,
                                                             topic_name) -> None:
    async def main() -> None:
        async with _client(authorizer_cluster, "admin") as admin_client, \
                _client(authorizer_cluster, "alice") as alice:
            admin = Admin(admin_client)
            await admin.create_topics([NewTopic(topic_name, 1, 1)])
            with pytest.raises(AuthorizationError) as info:
                await alice.list_offsets({(topic_name, 0): -1})
            assert info.value.name == "TOPIC_AUTHORIZATION_FAILED"

            binding = AclBinding(ResourceType.TOPIC, topic_name, "User:alice",
                                 AclOperation.DESCRIBE, AclPermission.ALLOW)
            await admin.create_acls([binding])
            mine = AclFilter(resource_type=ResourceType.TOPIC, resource_name=topic_name,
                             pattern_type=PatternType.LITERAL)
            assert await admin.describe_acls(mine) == [binding]

            offsets = await alice.list_offsets({(topic_name, 0): -1})
            assert offsets[(topic_name, 0)].offset == 0

            assert await admin.delete_acls([mine]) == 1
            assert await admin.describe_acls(mine) == []
            with pytest.raises(AuthorizationError):
                await Admin(alice).create_acls([binding])
    run(main())
