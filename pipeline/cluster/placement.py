"""Which nodes take part, and which sources each one reads.

A node's capacity is its ``posepipe`` custom resource when any node advertises one (``ray start
--resources '{"posepipe": 4}'`` picks the nodes and weighs them), otherwise its CPU count; nodes
without either (a head started with ``--num-cpus 0``) take no source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

RESOURCE = "posepipe"


@dataclass(frozen=True)
class Node:
    node_id: str
    address: str
    capacity: float


def usable_nodes(ray_nodes: Sequence[Mapping[str, Any]]) -> list[Node]:
    """The alive nodes that take sources, from ``ray.nodes()``, in the order Ray lists them."""
    alive = [n for n in ray_nodes if n.get("Alive")]
    tagged = [n for n in alive if n.get("Resources", {}).get(RESOURCE, 0) > 0]
    key = RESOURCE if tagged else "CPU"
    return [Node(str(n["NodeID"]), str(n.get("NodeManagerAddress", "?")), float(n["Resources"][key]))
            for n in (tagged or alive) if n.get("Resources", {}).get(key, 0) > 0]


def spread(sources: Sequence[int], nodes: Sequence[Node], load: Mapping[str, int] | None = None) -> dict[str, list[int]]:
    """Give each source to the node whose share per unit of capacity stays lowest (``load``: the
    sources a node reads already); ties go to the node listed first. Returns node id -> sources."""
    if not nodes:
        return {}
    count = {n.node_id: (load or {}).get(n.node_id, 0) for n in nodes}
    out: dict[str, list[int]] = {n.node_id: [] for n in nodes}
    for sid in sources:
        best = min(nodes, key=lambda n: ((count[n.node_id] + 1) / n.capacity, nodes.index(n)))
        count[best.node_id] += 1
        out[best.node_id].append(sid)
    return {node: sids for node, sids in out.items() if sids}
