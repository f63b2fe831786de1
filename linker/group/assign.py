"""The leader's assignment: sticky, balanced by partition count and then by measured bytes/s,
cooperative (pure, no I/O).

A partition is given to a member only when no member of this generation still claims it, so a
partition that moves is withheld for one generation: its owner's assignment leaves it out, the
owner stops it (waiting for its produce in flight), then rejoins, and the next generation gives
it to its new member. Two members never hold the same partition at once (docs/scale-out.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

TP = tuple[str, int]


#: Bytes/s imbalance (heaviest minus lightest member, over the mean load) worth moving partitions for.
RATE_TOLERANCE = 0.3
#: At most this many swaps per plan: each moves two partitions through a two-round rebalance.
MAX_SWAPS = 8


@dataclass
class Claim:
    """What a member says it owns now, the generation it got it in, and the bytes/s it measured
    for them (partitions it measured long enough only)."""
    generation: int
    owned: set[TP] = field(default_factory=set)
    rates: dict[TP, float] = field(default_factory=dict)


@dataclass
class Plan:
    assignment: dict[str, set[TP]]   # what each member may write in this generation
    target: dict[TP, str]            # where each partition ends up once moves finish
    withheld: set[TP]                # moving: its owner revokes it, the next generation assigns it

    def owners(self) -> dict[TP, str]:
        return {tp: m for m, tps in self.assignment.items() for tp in tps}


def current_owners(claims: dict[str, Claim], universe: set[TP]) -> dict[TP, str]:
    """Each partition's owner now: the claim of the highest generation (a stale member's claim loses)."""
    best: dict[TP, tuple[int, str]] = {}
    for member, claim in sorted(claims.items()):
        for tp in claim.owned & universe:
            if tp not in best or claim.generation > best[tp][0]:
                best[tp] = (claim.generation, member)
    return {tp: m for tp, (_, m) in best.items()}


def plan(claims: dict[str, Claim], partitions: set[TP], leader: str, pinned: set[TP] = frozenset()) -> Plan:
    """Assign ``partitions`` to the members of ``claims``; ``pinned`` ones go to the leader (topics
    being promoted or stopped: one member finishes them)."""
    members = sorted(claims)
    if not members:
        return Plan({}, {}, set())
    now = current_owners(claims, partitions)
    target: dict[TP, str] = {tp: leader for tp in pinned & partitions}
    rest = sorted(partitions - target.keys())
    base, extra = divmod(len(rest), len(members))
    kept = {m: sorted(tp for tp in rest if now.get(tp) == m) for m in members}
    # The members owning most keep the extra ones: fewer moves.
    by_size = sorted(members, key=lambda m: (-len(kept[m]), m))
    quota = {m: base + (1 if i < extra else 0) for i, m in enumerate(by_size)}
    load = {m: 0 for m in members}
    for m in members:
        for tp in kept[m][:quota[m]]:
            target[tp] = m
            load[m] += 1
    for tp in rest:
        if tp not in target:
            m = min(members, key=lambda m: (load[m] - quota[m], load[m], m))
            target[tp] = m
            load[m] += 1
    rates: dict[TP, float] = {}
    for c in claims.values():
        rates.update({tp: r for tp, r in c.rates.items() if tp in partitions})
    balance_rates(target, set(rest), rates)
    assignment: dict[str, set[TP]] = {m: set() for m in members}
    withheld: set[TP] = set()
    for tp, m in target.items():
        owner = now.get(tp)
        if owner is not None and owner != m:
            withheld.add(tp)
        else:
            assignment[m].add(tp)
    return Plan(assignment, target, withheld)


def balance_rates(target: dict[TP, str], movable: set[TP], rates: dict[TP, float]) -> int:
    """Swap partitions between the heaviest and the lightest member (counts stay balanced) while
    their bytes/s differ by more than ``RATE_TOLERANCE`` of the mean member load and a swap narrows
    the gap. A partition without a measured rate weighs the median measured rate. Returns the swaps."""
    if not rates:
        return 0
    known = sorted(rates.values())
    median = known[len(known) // 2]
    weight = {tp: rates.get(tp, median) for tp in target}
    members = sorted(set(target.values()))
    if len(members) < 2:
        return 0
    swaps = 0
    while swaps < MAX_SWAPS:
        load = {m: 0.0 for m in members}
        for tp, m in target.items():
            load[m] += weight[tp]
        heavy = max(members, key=lambda m: (load[m], m))
        light = min(members, key=lambda m: (load[m], m))
        gap = load[heavy] - load[light]
        mean = sum(load.values()) / len(members)
        if mean <= 0 or gap <= RATE_TOLERANCE * mean:
            return swaps
        best: tuple[float, TP, TP] | None = None
        for a in (tp for tp, m in target.items() if m == heavy and tp in movable):
            for b in (tp for tp, m in target.items() if m == light and tp in movable):
                d = weight[a] - weight[b]
                if 0 < d < gap:   # the gap becomes |gap - 2d|: smaller whenever 0 < d < gap
                    new_gap = abs(gap - 2 * d)
                    if best is None or new_gap < best[0]:
                        best = (new_gap, a, b)
        if best is None:
            return swaps
        _, a, b = best
        target[a], target[b] = light, heavy
        swaps += 1
    return swaps
