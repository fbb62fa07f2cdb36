"""What the simulated Racing API sends back for one request.

Why a module of its own: the route handlers (``utils.simulator.server.Api``), the fault injection
(``utils.simulator.faults``) and the HTTP handler all build or send a ``Reply``; here, neither the
server nor the faults module has to import the other to get it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    """What the handler sends: a status, a body and headers, or a special action."""
    status: int
    body: object = None                     # JSON-able payload, or bytes for raw bodies
    headers: dict[str, str] = field(default_factory=dict)
    action: str = ""                        # "", "reset", "truncate", "short_body"
    kind: str = ""                          # "results"/"racecards"/"horse" for payload-level faults
