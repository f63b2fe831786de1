"""`linker plan`: a read-only preflight of a link against both clusters.

It reads (Metadata, ListOffsets, Fetch, DescribeConfigs, DescribeLogDirs, DescribeCluster,
ApiVersions, DescribeAcls, ListGroups, FindCoordinator, DescribeGroups) and never writes:
what `linker run` would do to each selected topic, judged with the engine's own rules (``linker.mirror.checks.blocking_reason``,
``linker.mirror.topics.plan_topics``, ``linker.mirror.compare.compare_range``).

``sample``: a bounded fetch from the head and the tail of each partition; ``access``: the
principals' missing rights; ``conflicts``: what the destination already holds; ``report``:
the verdicts, their text and JSON; ``run``: the orchestration.
"""
