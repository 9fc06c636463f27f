"""``mbtorch.graph``: the graph layer under export and compile (issue 16).

- ``ir``: the graph (placeholders, registry-op nodes with their meta, in-place writes);
- ``capture``: the dispatcher's tracing mode that records it;
- ``interpret``: runs a graph op by op through the dispatcher, on any backend.
"""

from __future__ import annotations

__all__: list[str] = []
