"""`linker plan` is read-only by construction: neither the preflight nor the client questions
it asks (linker.client.inspect) name a call that writes to a cluster."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
#: every call of the client that changes a cluster
WRITES = {"produce", "create_topics", "create_partitions", "delete_topics", "delete_records",
          "incremental_alter_configs", "alter_topic_configs", "create_acls", "delete_acls", "offset_commit",
          "init_producer_id", "add_partitions_to_txn", "end_txn", "deny_writes", "fence_linker", "acls_bind",
          "allow_writes", "make_durable"}
WRITE_REQUESTS = {"ProduceRequest", "CreateTopicsRequest", "CreatePartitionsRequest", "DeleteTopicsRequest",
                  "DeleteRecordsRequest", "IncrementalAlterConfigsRequest", "AlterConfigsRequest",
                  "CreateAclsRequest", "DeleteAclsRequest", "OffsetCommitRequest", "InitProducerIdRequest"}


def test_the_preflight_names_no_write():
    files = sorted((ROOT / "linker" / "preflight").glob("*.py")) + [ROOT / "linker" / "client" / "inspect.py"]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in WRITES or name in WRITE_REQUESTS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []
