"""What a hover shows, as Markdown: a node's dtype and shape (`h: f32[N, 4]`) with its op or its
layer and parameter count, an op's signature and doc (from its record), a layer's signature and
the comment above its definition, a let's value, a data block's fields, a run-block key."""

from __future__ import annotations

from ...compiler.binding import REQUIRED, parameters
from ...compiler.blocks import KEYS
from ...compiler.program import prelude
from ...frontend import syntax as S
from ...frontend.fmt import format_expr, format_type
from ...ir import dims as D
from ...ir.printing import format_attr, format_init, param_count
from .analysis import Analysis
from .locate import Target
from .positions import PRELUDE

DTYPES = {"f16": "16-bit float", "f32": "32-bit float (the default)", "f64": "64-bit float",
          "i32": "32-bit integer", "i64": "64-bit integer", "u8": "8-bit unsigned integer",
          "bool": "true or false"}
KEYWORDS = {
    "placeholder": "`placeholder NAME: TYPE [= DEFAULT]`: a graph input, fed at run time",
    "variable": "`variable NAME: TYPE = INIT [frozen]`: trainable state, initialized once per "
                "session",
    "constant": "`constant NAME [: TYPE] = EXPR`: a compile-time value",
    "let": "`let NAME = VALUE`: a compile-time constant, overridable with `--set NAME=VALUE`",
    "graph": "`graph NAME { ... }`: placeholders, variables and single assignments",
    "layer": "`layer Name(params) { ... return EXPR }`: a function with its own variables",
    "data": "`data NAME { field = ... }`: the arrays that feed a graph's placeholders",
    "train": "`train GRAPH { ... }`: minibatch training of a graph",
    "evaluate": "`evaluate GRAPH { ... }`: report and show a graph's values on a data block",
    "return": "`return EXPR`: the value of a layer",
    "frozen": "a variable that `train` does not change",
    "state": "a variable changed only by `update` statements (running statistics)",
    "update": "`update NAME = EXPR`: the state variable NAME takes EXPR's value after each "
              "training step",
    "if": "`A if COND else B`: chosen at compile time (COND is a compile-time boolean)",
    "else": "`A if COND else B`: chosen at compile time (COND is a compile-time boolean)",
    "true": "the boolean true", "false": "the boolean false"}
BUILTINS = {"identity": "`identity(x)`: x itself (a layer's default activation)",
            "grad": "`grad(y, x)`: the symbolic gradient of the scalar y with respect to x, "
                    "itself a graph node",
            "scan": "`scan(Cell, xs, h0)`: the one-step layer Cell applied along axis 1 of xs "
                    "from h0; every state",
            "training": "`training`: the compile-time mode, true in a train block's step and "
                        "false everywhere else"}


def hover_markdown(t: Target, a: Analysis, program: S.Program | None) -> str | None:
    """The hover text of what a word names, or None."""
    show = _SHOW.get(t.kind)
    return show(t, a, program) if show else None


def _code(text: str) -> str:
    return f"```tensorlang\n{text}\n```"


def show_value(v) -> str:
    """A compile-time value as the language writes it."""
    if isinstance(v, tuple):
        return "[" + ", ".join(show_value(x) for x in v) + "]"
    if isinstance(v, D.Dim):
        return D.dim_str(v)
    if hasattr(v, "name") and hasattr(v, "span"):  # a function passed by name
        return v.name
    return format_attr(v)


def _node(t: Target, a, program) -> str:
    graph, node = t.graph, t.value
    out = [_code(f"{t.name}: {node.type}")]
    layer = graph.layers.get(t.name)
    if layer is not None:
        own = [v for v in graph.variables if v.name.startswith(t.name + ".")]
        listed = ", ".join(f"`{v.name}` {v.type}" for v in own[:6]) + (", ..." if own[6:] else "")
        out.append(f"`{layer[0]}` layer instance, {param_count(graph, t.name):,} parameters"
                   + (f": {listed}" if own else ""))
    elif node.op == "variable":
        trainable = "trainable" if node.attrs.get("trainable", True) else "frozen"
        out.append(f"variable, {D.dim_str(D.volume(node.type.shape))} parameters ({trainable}), "
                   f"initialized by `{format_init(node.attrs['init'])}`")
    elif node.op == "placeholder":
        default = node.attrs.get("default")
        out.append("placeholder, fed at run time" +
                   (f" (default {format_attr(default)})" if default is not None else ""))
    else:
        out.append(f"`{node.op}`" + (" (compile-time value)" if node.op == "constant" else ""))
    out.append(f"rank {node.rank}, volume {D.dim_str(D.volume(node.type.shape))}, "
               f"graph `{graph.name}`")
    return "\n\n".join(out)


def _op(t: Target, a, program) -> str:
    op = t.value
    return f"{_code(op.signature())}\n\n{op.doc}\n\n{op.family} op"


def layer_signature(layer: S.LayerDef) -> str:
    """`Dense(x: [..., In], units, activation = identity)`."""
    parts = []
    for p in layer.params:
        s = p.name + (f": {format_type(p.pattern)}" if p.pattern is not None else "")
        parts.append(s + (f" = {format_expr(p.default)}" if p.default is not None else ""))
    return f"{layer.name}({', '.join(parts)})"


def doc_comment(item, program: S.Program | None) -> str:
    """The whole-line comments right above an item, without their `#`."""
    source = prelude() if item.span.file == PRELUDE else program
    if source is None:
        return ""
    lines = {c.line: c.text for c in source.comments}
    text = item.span.text or ""
    rows = text.split("\n")
    out, k = [], item.span.line - 1
    while k in lines and k <= len(rows) and rows[k - 1].lstrip().startswith("#"):
        out.append(lines[k].lstrip("#").strip())
        k -= 1
    return " ".join(reversed(out))


def _layer(t: Target, a, program) -> str:
    layer = t.item
    where = "standard layer (the prelude)" if layer.span.file == PRELUDE else "layer"
    doc = doc_comment(layer, program)
    return "\n\n".join(x for x in (_code(f"layer {layer_signature(layer)}"), doc, where) if x)


def _let(t: Target, a, program) -> str:
    written = format_expr(t.item.value) if t.item is not None else "?"
    value = show_value(t.value) if t.value is not None else None
    text = _code(f"let {t.name} = {value if value is not None else written}")
    if value is not None and value != written:
        text += f"\n\nwritten `{written}`"
    return text + "\n\ncompile-time constant; `--set` overrides it"


def _data(t: Target, a, program) -> str:
    fields = [f"- `{f.name}` = `{_short(format_expr(f.value))}`" for f in t.item.fields]
    return "\n\n".join([_code(f"data {t.name}"), "\n".join(fields),
                        "loaded when a run block needs it (never while editing)"])


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _graph(t: Target, a, program) -> str:
    graph = t.graph
    if graph is None:
        return _code(f"graph {t.name}") + "\n\nnot compiled (see the problems)"
    inputs = ", ".join(f"`{p.name}: {p.type}`" for p in graph.placeholders)
    return "\n\n".join([_code(f"graph {t.name}"),
                        f"{len(graph.nodes)} nodes, {param_count(graph):,} parameters",
                        f"inputs: {inputs}" if inputs else "no inputs"])


def _key(t: Target, a, program) -> str:
    blocks = " and ".join(KEYS[t.name][1])
    return f"`{t.name}`: a key of {blocks} blocks"


def _dim(t: Target, a, program) -> str:
    return (f"symbolic dim `{t.name}` of graph `{t.graph.name}`: one size, known when the graph "
            "is fed")


def _dtype(t: Target, a, program) -> str:
    return f"dtype `{t.name}`: {DTYPES.get(t.name, 'an element type')}"


def _param(t: Target, a, program) -> str:
    layer, p = t.value, t.item
    what = f"pattern `{format_type(p.pattern)}`" if p.pattern is not None else \
        "compile-time value"
    return f"{_code(layer_signature(layer))}\n\nparameter `{p.name}` of `{layer.name}` ({what})"


def _local(t: Target, a, program) -> str:
    layer = t.value
    seen = []
    for graph in a.graphs.values():
        for scope, (name, _) in graph.layers.items():
            node = graph.names.get(f"{scope}.{t.name}")
            if name == layer.name and node is not None:
                seen.append(f"- `{scope}.{t.name}`: {node.type} (graph `{graph.name}`)")
    head = f"`{t.name}` in layer `{layer.name}`"
    return head + ("\n\n" + "\n".join(seen[:8]) if seen else "")


def _field(t: Target, a, program) -> str:
    block = t.value
    feeds = [f"- feeds `{p.name}: {p.type}` of graph `{g.name}`" for g in a.graphs.values()
             for p in g.placeholders if p.name == t.name]
    head = f"field `{t.name}` of data block `{block.name}`: `{_short(format_expr(t.item.value))}`"
    return "\n\n".join([head] + (["\n".join(feeds)] if feeds else []))


_SKIP = {"initializer": 2, "optimizer": 3, "loader": 0}


def _function(t: Target, a, program) -> str:
    params = parameters(t.value, skip=_SKIP[t.kind], exclude=("span",))
    args = ", ".join(k if v is REQUIRED else f"{k} = {format_attr(v)}" for k, v in params.items())
    doc = (t.value.__doc__ or "").strip().split("\n")[0]
    return "\n\n".join(x for x in (_code(f"{t.name}({args})"), doc, t.kind) if x)


def _builtin(t: Target, a, program) -> str:
    return BUILTINS.get(t.name, t.name)


def _keyword(t: Target, a, program) -> str | None:
    return KEYWORDS.get(t.name)


_SHOW = {"node": _node, "op": _op, "layer": _layer, "let": _let, "data": _data, "graph": _graph,
         "key": _key, "dim": _dim, "dtype": _dtype, "param": _param, "local": _local,
         "field": _field, "initializer": _function, "optimizer": _function, "loader": _function,
         "builtin": _builtin, "keyword": _keyword}
