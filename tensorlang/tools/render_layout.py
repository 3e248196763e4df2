"""What a picture of a graph shows, decided before any DOT is written: which nodes are drawn
(focus, folded constants, collapsed layers), what kind each is (which fixes its shape and colour),
its label and tooltip, the typed edges, and the tree of scope clusters. `render.py` turns a
Drawing into DOT text."""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Mapping

import numpy as np

from ..ir.graph import Graph, Node
from ..ir.opdef import REQUIRED
from ..ir.printing import Namer, format_attr, format_init, format_node, param_count
from ..ir.traversal import users
from ..records import field, record

# kind -> (legend text, DOT attributes). One row a kind; the legend is drawn from this table.
STYLES: dict[str, tuple[str, dict]] = {
    "placeholder": ("placeholder", {"shape": "invhouse", "fillcolor": "#cfe2f3"}),
    "variable": ("variable", {"shape": "cylinder", "fillcolor": "#fce5cd"}),
    "frozen": ("frozen variable", {"shape": "cylinder", "fillcolor": "#eeeeee",
                                   "style": "filled,dashed"}),
    "running": ("state variable", {"shape": "cylinder", "fillcolor": "#d0e0e3",
                                   "style": "filled,bold"}),
    "constant": ("constant", {"shape": "note", "fillcolor": "#f3f3f3"}),
    "op": ("op", {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"}),
    "gradient": ("gradient", {"shape": "box", "style": "rounded,filled",
                                 "fillcolor": "#f4cccc", "color": "#990000"}),
    "update": ("optimizer update", {"shape": "box", "style": "rounded,filled",
                                    "fillcolor": "#d9ead3", "color": "#38761d"}),
    "state": ("optimizer state", {"shape": "cylinder", "fillcolor": "#d9ead3",
                                  "color": "#38761d"}),
    "layer": ("layer", {"shape": "box", "peripheries": "2", "fillcolor": "#fff2cc"}),
    "grad_layer": ("layer gradient", {"shape": "box", "peripheries": "2",
                                      "fillcolor": "#f4cccc", "color": "#990000"}),
}
# edge kind -> DOT attributes: forward data, gradient flow, forward values a gradient or update
# reads (grey, so the backward pass stands out), and an update's new value for its variable.
# Gradient-to-gradient edges are ranked upwards (DrawEdge.upward): the backward pass climbs back
# beside the forward one, so each layer's gradient sits level with the layer and the grey edges
# from the forward values it reads stay short. Drawn downwards below the forward pass instead,
# those grey edges span the whole picture, and dot needs minutes for a 40-layer model.
EDGE_STYLES: dict[str, dict] = {
    "data": {},
    "grad": {"color": "#990000", "fontcolor": "#990000"},
    "uses": {"color": "#999999", "fontcolor": "#777777", "style": "dashed"},
    "assign": {"color": "#38761d", "fontcolor": "#38761d", "style": "dashed",
               "weight": "0"},
}
CLUSTER_STYLES = {
    "forward": {"style": "rounded,dashed", "color": "#888888"},
    "grad": {"style": "rounded,filled", "color": "#cc9999", "fillcolor": "#fdf3f3"},
    "optimizer": {"style": "rounded,filled", "color": "#93c47d", "fillcolor": "#f3f9f0"},
}
PHASES = ("grad", "optimizer")  # scope prefixes of nodes that are not the forward model
FOLD_MAX = 1  # constants with at most this many elements are written into their users' labels
ATTR_WIDTH = 34  # characters per attribute line of a label
DOT_ARG = "\u00b7"  # stands for an input drawn as an edge in `greater(·, 0.5)`


@record(frozen=False)
class DrawNode:
    """One box of the picture: a graph node, a collapsed layer, or a legend entry."""

    id: str
    kind: str
    label: str  # HTML-like label body
    tooltip: str
    cluster: str = ""  # scope key of the innermost cluster ("" = top level)
    output: bool = False  # computed by the graph and used by nothing (drawn bold)


@record(frozen=False)
class DrawEdge:
    """One arrow, labelled with the type of the value it carries."""

    src: str
    dst: str
    label: str
    kind: str = "data"
    upward: bool = False  # drawn against the ranking: gradients flow back up beside the model


@record(frozen=False)
class Drawing:
    """Everything a picture shows, in a deterministic order."""

    name: str
    title: str
    nodes: list[DrawNode] = field(default_factory=list)
    edges: list[DrawEdge] = field(default_factory=list)
    clusters: dict[str, str] = field(default_factory=dict)  # key -> label, outer before inner
    legend: list[str] = field(default_factory=list)  # kinds present, in STYLES order


def scope_path(scope: str) -> list[str]:
    """Cluster keys from outer to inner: `grad/h.a` -> [`grad`, `grad/h`, `grad/h.a`]."""
    if not scope:
        return []
    cuts = [m.start() for m in re.finditer(r"[./]", scope)] + [len(scope)]
    return [scope[:c] for c in cuts]


def phase(scope: str) -> str:
    """`forward`, `grad` or `optimizer`: which part of training a scope belongs to."""
    head = scope_path(scope)[:1]  # the whole first part: a layer `gradient_net` is forward
    return head[0] if head and head[0] in PHASES else "forward"


def layer_key(scope: str) -> str | None:
    """The top-level layer instance a scope belongs to (`h`, `grad/h`), or None."""
    path = scope_path(scope)
    if not path:
        return None
    if phase(scope) != "forward":
        return path[1] if len(path) > 1 else None
    return path[0]


def kind_of(n: Node) -> str:
    """The drawing kind of a node (a key of STYLES)."""
    where = phase(n.scope)
    if n.op == "variable":
        if where == "optimizer":
            return "state"
        if n.attrs.get("state", False):
            return "running"  # a model's state (BatchNorm's statistics), changed by `update`
        return "variable" if n.attrs.get("trainable", True) else "frozen"
    if n.op in ("placeholder", "constant"):
        return n.op
    return {"grad": "gradient", "optimizer": "update"}[where] if where != "forward" else "op"


def foldable(n: Node, named: set[int]) -> bool:
    """A small unnamed constant, written into its users' labels instead of drawn."""
    return n.op == "constant" and n.id not in named and np.size(n.attrs["value"]) <= FOLD_MAX


def short_value(value) -> str:
    """A constant as a label shows it: `0.5`, `1`, `1.192e-07`, `true`, or `f32[3, 4]`."""
    arr = np.asarray(value)
    if arr.size == 1:
        v = arr.reshape(()).item()
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)
    return _clip(format_attr(arr), 24)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _is_default(param, value) -> bool:
    if param is None or param.default is REQUIRED:
        return False
    try:
        return bool(value == param.default)
    except (ValueError, TypeError):  # arrays and odd types never count as defaults
        return False


def attr_lines(n: Node) -> list[str]:
    """The op's attributes that differ from their defaults, short, wrapped to ATTR_WIDTH."""
    params = {p.name: p for p in n.opdef.attr_params}
    parts = [f"{k}={_clip(v if isinstance(v, str) else format_attr(v), 24)}"
             for k, v in n.attrs.items()
             if v is not None and not _is_default(params.get(k), v)]
    lines: list[str] = []
    for p in parts:
        if lines and len(lines[-1]) + 2 + len(p) <= ATTR_WIDTH:
            lines[-1] += ", " + p
        else:
            lines.append(p)
    return lines


def call_text(n: Node, folded: set[int]) -> str:
    """`tanh`, or `greater(·, 0.5)` when some inputs are folded constants."""
    if not any(i.id in folded for i in n.inputs):
        return n.op
    args = [short_value(i.attrs["value"]) if i.id in folded else DOT_ARG for i in n.inputs]
    return f"{n.op}({', '.join(args)})"


def _html(main: str, small: list[str], bold: bool) -> str:
    head = f"<b>{html.escape(main)}</b>" if bold else html.escape(main)
    tail = "".join(f'<br/><font point-size="8" color="#555555">{html.escape(s)}</font>'
                   for s in small)
    return head + tail


def _is_user(name: str) -> bool:
    return not name.startswith("%")  # the printer's `%k` names nodes nobody named


def node_label(n: Node, name: str, folded: set[int]) -> str:
    """The HTML-like label of a drawn graph node."""
    if n.op == "placeholder":
        default = n.attrs.get("default")
        return _html(name, ["placeholder" + (f" = {short_value(default)}"
                                             if default is not None else "")], True)
    if n.op == "variable":
        init = _clip(format_init(n.attrs["init"]), ATTR_WIDTH)
        frozen = not n.attrs.get("trainable", True) and kind_of(n) == "frozen"
        return _html(name, [init + ("  frozen" if frozen else "")], True)
    if n.op == "constant":
        value = short_value(n.attrs["value"])
        return _html(name, [f"constant {value}"], True) if _is_user(name) else \
            _html(value, ["constant"], False)
    call = call_text(n, folded)
    if _is_user(name):
        return _html(name, [call] + attr_lines(n), True)
    return _html(call, attr_lines(n), False)


def tooltip(n: Node, namer: Namer) -> str:
    """`FILE:LINE: <source line>` for the hover text; the IR line when the source is unknown."""
    line = n.span.source_line()
    if line is not None:  # runs of blanks made to align columns become one (dot keeps them
        return f"{n.span.file}:{n.span.line}: {' '.join(line.split())}"  # as nbsp otherwise)
    return format_node(n, namer)


def _resolve(graph: Graph, namer: Namer, name: str) -> Node:
    """A node by its user name or its printer name (`%12`, as `tensorlang ir` shows it)."""
    if name in graph.names:
        return graph.names[name]
    for n in graph.nodes:
        if namer(n) == name:
            return n
    return graph.node(name)  # raises NamingError with a did-you-mean hint


def neighbourhood(center: Node, depth: int, links) -> set[int]:
    """Ids of nodes at most `depth` edges from center, following edges both ways."""
    adj: dict[int, list[int]] = {}
    for a, b in links:
        adj.setdefault(a.id, []).append(b.id)
        adj.setdefault(b.id, []).append(a.id)
    seen = {center.id: 0}
    todo = deque([center.id])
    while todo:
        k = todo.popleft()
        if seen[k] < depth:
            for m in adj.get(k, ()):
                if m not in seen:
                    seen[m] = seen[k] + 1
                    todo.append(m)
    return set(seen)


def update_pairs(updates) -> list[tuple[str, Node]]:
    """(variable name, new-value node) pairs from a mapping keyed by name or by variable node."""
    if updates is None:
        return []
    items = updates.items() if isinstance(updates, Mapping) else updates
    return [(k if isinstance(k, str) else k.name, v) for k, v in items]


@record(frozen=False)
class _Scene:
    """What layout decided so far: which nodes show, which are folded into their users' labels,
    which layer boxes stand for their members, and who reads what."""

    graph: Graph
    namer: Namer
    keep: set
    folded: set
    named: set
    users: dict
    assigns: list
    collapse: bool
    boxes: dict = field(default_factory=dict)  # layer key -> its members
    box_id: dict = field(default_factory=dict)  # layer key -> the id its box is drawn with
    rep: dict = field(default_factory=dict)  # node id -> id of what draws it


def layout(graph: Graph, *, collapse: bool = False, focus: str | None = None, depth: int = 2,
           fold: bool = True, legend: bool = True, updates=None) -> Drawing:
    """Decide what the picture of `graph` shows (see render.to_dot for the options)."""
    scene = _scene(graph, collapse, focus, depth, fold, updates)
    title = f"graph {graph.name}" + (f" (around {focus}, depth {depth})" if focus else "")
    d = Drawing(graph.name, title)
    _draw_nodes(d, scene)
    _draw_edges(d, scene)
    if legend:
        present = {x.kind for x in d.nodes}
        d.legend = [k for k in STYLES if k in present]
    return d


def _scene(graph: Graph, collapse: bool, focus, depth: int, fold: bool, updates) -> _Scene:
    """The nodes to draw (a focus's neighbourhood, without folded constants) and the boxes."""
    namer, nodes = Namer(graph), graph.nodes
    named = {n.id for n in graph.names.values()} | {n.id for n in nodes if n.name}
    readers = users(nodes)
    # a constant nothing uses is drawn, or it would vanish
    folded = {n.id for n in nodes if fold and foldable(n, named)} & set(readers)
    assigns = [(graph.names[v], u) for v, u in update_pairs(updates) if v in graph.names]
    keep = {n.id for n in nodes} - folded
    if focus is not None:
        links = [(i, n) for n in nodes for i in n.inputs if i.id not in folded] + \
            [(u, v) for v, u in assigns]
        keep &= neighbourhood(_resolve(graph, namer, focus), depth, links)
    scene = _Scene(graph, namer, keep, folded, named, readers, assigns, collapse)
    if collapse:
        for n in nodes:
            key = layer_key(n.scope)
            if n.id in keep and key is not None:
                scene.boxes.setdefault(key, []).append(n)
    plain = {namer(n) for n in nodes if n.id in keep and layer_key(n.scope) not in scene.boxes}
    scene.box_id = {k: k if k not in plain else f"{k} (layer)" for k in scene.boxes}
    return scene


def _draw_nodes(d: Drawing, sc: _Scene) -> None:
    """A DrawNode per kept node, or one box per collapsed layer; clusters for their scopes."""
    assigned = {u.id for _, u in sc.assigns}
    drawn_boxes: set[str] = set()
    for n in sc.graph.nodes:
        if n.id not in sc.keep:
            continue
        key = layer_key(n.scope) if sc.collapse else None
        if key in sc.boxes:
            sc.rep[n.id] = sc.box_id[key]
            if key not in drawn_boxes:
                drawn_boxes.add(key)
                d.nodes.append(_box(sc.graph, key, sc.box_id[key], sc.boxes[key], sc.users,
                                    sc.namer))
                _add_clusters(d, sc.graph, scope_path(key)[:-1])
            continue
        name = sc.namer(n)
        sc.rep[n.id] = name
        path = scope_path(n.scope)
        _add_clusters(d, sc.graph, path)
        out = n.id in sc.named and not n.is_source and n.id not in sc.users and \
            n.id not in assigned
        d.nodes.append(DrawNode(name, kind_of(n), node_label(n, name, sc.folded),
                                tooltip(n, sc.namer), path[-1] if path else "", out))
        if hasattr(n.attrs.get("cell"), "forward"):
            _draw_cell(d, n, name, n.scope)


def _draw_cell(d: Drawing, scan: Node, name: str, outer: str) -> None:
    """A scan's cell, drawn once, in a cluster of its own beside the scan node: its step's
    nodes (variables as the outer graph's, which every step shares) and their edges."""
    cell = scan.attrs["cell"]
    key = f"{outer}.step" if outer else f"{name}.step"
    d.clusters[key] = f"one step of {cell.layer} (x, h -> h), shared by every step"
    namer = Namer(cell.forward)
    ids = {m.id: f"{name}/{namer(m)}" for m in cell.forward.nodes}
    for v in cell.variables:
        ids[v.id] = v.name  # the graph's own variable node
    for m in cell.forward.nodes:
        if m.op != "variable":
            d.nodes.append(DrawNode(ids[m.id], kind_of(m), node_label(m, namer(m), set()),
                                    tooltip(m, namer), key, m is cell.out))
    for m in cell.forward.nodes:
        for i in m.inputs:
            d.edges.append(DrawEdge(ids[i.id], ids[m.id], str(i.type)))


def _draw_edges(d: Drawing, sc: _Scene) -> None:
    """An edge per input between drawn things (one a type between boxes), and the updates."""
    rep, seen = sc.rep, set()
    for n in sc.graph.nodes:
        for i in n.inputs:
            if n.id in rep and i.id in rep and rep[n.id] != rep[i.id]:
                kind = _edge_kind(i, n)
                e = (rep[i.id], rep[n.id], str(i.type))
                if not sc.collapse or e not in seen:  # between boxes: one arrow a type
                    seen.add(e)
                    d.edges.append(DrawEdge(*e, kind, kind == "grad" and
                                            phase(n.scope) == "grad"))
    for v, u in sc.assigns:
        if v.id in rep and u.id in rep:
            d.edges.append(DrawEdge(rep[u.id], rep[v.id], "update", "assign"))


def _edge_kind(src: Node, dst: Node) -> str:
    a, b = phase(src.scope), phase(dst.scope)
    if a == "grad":
        return "grad"  # a gradient, whether it flows on backwards or into an update
    return "uses" if a == "forward" and b != "forward" else "data"


def _layer(graph: Graph, key: str) -> tuple[str | None, int | None]:
    """(layer name, id of the node the layer returned) of a layer instance's scope key; for a
    gradient key (`grad/h`) the forward instance's layer name and no node."""
    layers = getattr(graph, "layers", None) or {}
    if phase(key) == "forward":
        return layers.get(key, (None, None))
    path = scope_path(key)
    inner = key[len(path[0]) + 1:] if len(path) > 1 else ""
    return (layers.get(inner, (None, None))[0], None)


def _add_clusters(d: Drawing, graph: Graph, path: list[str]) -> None:
    for key in path:
        if key not in d.clusters:
            layer = _layer(graph, key)[0] if phase(key) == "forward" else None
            params = param_count(graph, key) if phase(key) == "forward" else 0
            d.clusters[key] = key + (f": {layer}" if layer else "") + (
                f"  ({params:,} params)" if params else "")


def _box(graph: Graph, key: str, box: str, members: list[Node], users: dict,
         namer: Namer) -> DrawNode:
    """One box standing for a whole layer instance (or its gradient): its name, layer, the
    type of the value it hands on, its parameter count."""
    inside = {n.id: n for n in members}
    leaving = [n for n in members if any(u.id not in inside for u in users.get(n.id, ()))]
    layer, out_id = _layer(graph, key)
    if layer and phase(key) != "forward":
        layer += " backward"
    out = inside.get(out_id) or (leaving[-1] if leaving else None)
    lines = [" ".join(p for p in (layer, f"\u2192 {out.type}" if out else "") if p)]
    if phase(key) == "forward":
        lines.append(f"{param_count(graph, key):,} params")
    lines.append(f"{len(members)} nodes")
    kind = "layer" if phase(key) == "forward" else "grad_layer"
    return DrawNode(box, kind, _html(key, [x for x in lines if x], True),
                    tooltip(members[0], namer), (scope_path(key)[:-1] or [""])[-1])
