"""Where names are looked up while lowering: the graph's top level or a layer instance."""

from __future__ import annotations

from ..records import field, record


@record(frozen=False)
class Scope:
    """Where names are looked up: a layer instance's locals, or the graph's top level."""

    prefix: str  # "" at graph level, "h" or "h.inner" inside layers
    locals: dict = field(default_factory=dict)
    is_layer: bool = False
    body: tuple = ()  # the statements of the block, to tell "defined later" from "undefined"
    shared_from: str | None = None  # applying an instance again: the scope whose variables it uses
    nested: list = field(default_factory=list)  # scopes of the layer calls made in this scope
    nested_from: list = field(default_factory=list)  # shared: the original's nested scopes

    def qualify(self, name: str) -> str:
        """The graph-wide name of a local name."""
        return f"{self.prefix}.{name}" if self.prefix else name
