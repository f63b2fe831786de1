"""Scale-out: one link served by several `linker run` processes that form one Kafka group.

``assign`` (the leader's sticky, balanced, cooperative assignment; pure), ``protocol`` (what
members say in JoinGroup and learn in SyncGroup), ``member`` (the membership loop, the lease and
self-fencing). See docs/scale-out.md.
"""
