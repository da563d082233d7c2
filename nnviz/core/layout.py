"""Automatic left-to-right layout of a network diagram.

Columns are longest-path layers from the inputs, so every edge points right; within a
column, nodes are ordered by the mean row of their inputs (one barycentre pass), which
keeps branches from crossing in the small graphs people build by hand.
"""

from __future__ import annotations

from .graph import Network
from .layers import Role

COLUMN_WIDTH = 200.0
ROW_HEIGHT = 120.0


def auto_layout(
    network: Network, column_width: float = COLUMN_WIDTH, row_height: float = ROW_HEIGHT
) -> dict[str, tuple[float, float]]:
    """New positions for every node: node id -> (x, y). The network itself is not changed."""
    order = network.topological_order()
    if order is None:  # a cycle can only come from a hand-edited file; keep the file order
        order = list(network.nodes)
    column: dict[str, int] = {}
    for nid in order:
        preds = [p for p in network.inputs_of(nid) if p in column]
        column[nid] = 1 + max((column[p] for p in preds), default=-1)
    # Pull nodes with no successors towards their inputs' columns only if nothing follows;
    # an Output always sits in the last column so the eye ends there.
    last = max(column.values(), default=0)
    for node in network.nodes_of_role(Role.OUTPUT):
        column[node.id] = last
    columns: dict[int, list[str]] = {}
    for nid in order:
        columns.setdefault(column[nid], []).append(nid)
    row: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    for c in sorted(columns):
        ids = columns[c]

        def barycentre(nid: str, index: int) -> float:
            preds = [row[p] for p in network.inputs_of(nid) if p in row]
            return sum(preds) / len(preds) if preds else float(index)

        ids = [nid for _, nid in sorted((barycentre(n, i), n) for i, n in enumerate(ids))]
        offset = (len(ids) - 1) / 2
        for i, nid in enumerate(ids):
            row[nid] = i - offset
            positions[nid] = (c * column_width, (i - offset) * row_height)
    return positions
