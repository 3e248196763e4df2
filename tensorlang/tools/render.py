"""Draw a Graph with Graphviz: the forward model, its gradient nodes and the optimizer's updates,
layers as clusters by scope, the type of every value on its edge and the source line of every
node as its tooltip. `to_dot` is deterministic DOT text (golden-tested); images go through the
`graphviz` package and the system `dot`.

Small constants (one element, unnamed: `0.5`, the `1` of `1 - x`) are written into the label of
the op that uses them (`greater(·, 0.5)`) instead of being drawn as nodes of their own: a graph
with a backward pass has dozens of them and they would crowd out the ops. `fold=False` draws them.
"""

from __future__ import annotations

import os
import shutil

from ..errors import UsageError
from ..files.atomic import write_atomic
from ..ir.graph import Graph
from .render_layout import (
    CLUSTER_STYLES,
    EDGE_STYLES,
    STYLES,
    Drawing,
    layout,
    phase,
    scope_path,
)

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = ("install Graphviz: `apt-get install graphviz` (Debian/Ubuntu) or "
                "`brew install graphviz` (macOS); or write DOT source with -o FILE.dot")

GRAPH_ATTRS = {"fontname": "Helvetica", "fontsize": "12", "labelloc": "t", "rankdir": "TB",
               "nodesep": "0.25", "ranksep": "0.3"}
NODE_ATTRS = {"fontname": "Helvetica", "fontsize": "10", "style": "filled", "height": "0.3",
              "margin": "0.08,0.03"}
EDGE_ATTRS = {"fontname": "Helvetica", "fontsize": "7", "arrowsize": "0.6", "color": "#444444",
              "fontcolor": "#555555"}


def quote(text: str) -> str:
    """A DOT string literal (newlines become DOT's `\\n`)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(attrs: dict, html_label: str | None = None) -> str:
    items = [(k, quote(str(v))) for k, v in attrs.items()]
    if html_label is not None:
        items.append(("label", f"<{html_label}>"))
    return "[" + ", ".join(f"{k}={v}" for k, v in sorted(items)) + "]"


def format_dot(d: Drawing) -> str:
    """DOT text of a Drawing: clusters nested by scope, nodes in graph order, sorted attributes."""
    out = [f"digraph {quote(d.name)} {{",
           f"    graph {_attrs({**GRAPH_ATTRS, 'label': d.title})}",
           f"    node {_attrs(NODE_ATTRS)}",
           f"    edge {_attrs(EDGE_ATTRS)}"]
    children: dict[str, list[str]] = {}
    for key in d.clusters:
        children.setdefault((scope_path(key)[:-1] or [""])[-1], []).append(key)
    members: dict[str, list] = {}
    for n in d.nodes:
        members.setdefault(n.cluster, []).append(n)

    def emit(key: str, indent: str) -> None:
        for n in members.get(key, ()):
            style = dict(STYLES[n.kind][1])
            if n.output:
                style["penwidth"] = "2"
            style["tooltip"] = n.tooltip
            out.append(f"{indent}{quote(n.id)} {_attrs(style, n.label)}")
        for child in children.get(key, ()):
            style = {**CLUSTER_STYLES[phase(child)], "label": d.clusters[child],
                     "fontsize": "10", "tooltip": child}
            out.append(f"{indent}subgraph {quote('cluster_' + child)} {{")
            out.append(f"{indent}    graph {_attrs(style)}")
            emit(child, indent + "    ")
            out.append(f"{indent}}}")

    emit("", "    ")
    if d.legend:
        box = {"label": "legend", "fontsize": "9", "style": "rounded", "color": "#bbbbbb"}
        out.append("    subgraph cluster_legend {")
        out.append(f"        graph {_attrs(box)}")
        ids = [f"legend:{k}" for k in d.legend]
        for k, i in zip(d.legend, ids):
            style = {**STYLES[k][1], "fontsize": "8", "tooltip": STYLES[k][0]}
            out.append(f"        {quote(i)} {_attrs(style, STYLES[k][0])}")
        for a, b in zip(ids, ids[1:]):  # a column beside the graph, not a row above it
            out.append(f"        {quote(a)} -> {quote(b)} [style=invis]")
        out.append("    }")
    for e in d.edges:
        style = {**EDGE_STYLES[e.kind], "label": e.label}
        if e.upward:  # ranked from dst to src, the arrowhead still at dst
            style["dir"] = "back"
        a, b = (e.dst, e.src) if e.upward else (e.src, e.dst)
        out.append(f"    {quote(a)} -> {quote(b)} {_attrs(style)}")
    out.append("}")
    return "\n".join(out) + "\n"


def to_dot(graph: Graph, **options) -> str:
    """Deterministic DOT source for `graph`. Options: collapse (one box a top-level layer),
    focus (a node name) with depth (edges from it, default 2), fold (small constants into their
    users' labels, default True), legend (default True), updates ({variable name: new value
    node}, drawn as arrows back to the variables)."""
    return format_dot(layout(graph, **options))


NODE_BUDGET = 1500  # drawn boxes beyond which `dot` takes minutes: collapse, or refuse
DOT_TIMEOUT = 120.0  # seconds `dot` may take before the picture is given up


def budgeted_layout(graph: Graph, **options) -> tuple[Drawing, str | None]:
    """The layout to turn into a picture, within NODE_BUDGET boxes: as asked, else with every
    layer and its gradient collapsed into one box each (and a note saying so); beyond even that
    a UsageError that says how to draw a part. Returns (drawing, note or None)."""
    d = layout(graph, **options)
    if len(d.nodes) <= NODE_BUDGET:
        return d, None
    if not options.get("collapse") and options.get("focus") is None:
        c = layout(graph, **{**options, "collapse": True})
        if len(c.nodes) <= NODE_BUDGET:
            return c, (f"note: {len(d.nodes)} nodes are more than a picture holds "
                       f"({NODE_BUDGET}): each layer and its gradient is drawn as one box "
                       "(--collapse); --focus NODE draws a part in full")
    raise UsageError(f"{len(d.nodes)} boxes are too many to draw as a picture (at most "
                     f"{NODE_BUDGET}: dot would take minutes to hours)",
                     hint="draw a part: --focus NODE --depth 2 (with --collapse for the rest), "
                          "or write the DOT source with -o FILE.dot")


def pipe(dot_source: str, fmt: str, timeout: float | None = None) -> bytes:
    """Render DOT text to `fmt` bytes with the system `dot`, which is stopped after `timeout`
    seconds (DOT_TIMEOUT); UsageError when it is missing, fails or runs out of time."""
    import subprocess
    exe = shutil.which("dot")
    if exe is None:
        raise UsageError(f"cannot write {fmt.upper()}: Graphviz's `dot` program is not on PATH",
                         hint=INSTALL_HINT)
    limit = DOT_TIMEOUT if timeout is None else timeout
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode("utf-8"),
                              capture_output=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"Graphviz's dot did not finish drawing in {limit:g} s",
                         hint="draw less: --collapse, or --focus NODE --depth 2; or write the "
                              "DOT source with -o FILE.dot") from None
    except OSError as e:
        raise UsageError(f"cannot run Graphviz's dot: {e.strerror or e}",
                         hint=INSTALL_HINT) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        shown = "\n".join(detail[:5]) + ("\n..." if len(detail) > 5 else "")
        raise UsageError(f"Graphviz's dot failed: {shown or f'exit status {done.returncode}'}",
                         hint="write the DOT source with -o FILE.dot to look at it")
    return done.stdout


def to_svg(graph: Graph, **options) -> str:
    """The picture as SVG text (what Jupyter shows for a Graph); options as in to_dot, within
    the node budget (see budgeted_layout)."""
    return pipe(format_dot(budgeted_layout(graph, **options)[0]), "svg").decode("utf-8")


def format_of(path: str) -> str:
    """The output format named by a file's extension; UsageError for others."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext == "gv":
        ext = "dot"
    if ext not in FORMATS:
        raise UsageError(f'cannot tell the picture format of "{path}"',
                         hint="use a file name ending in " + ", ".join("." + f for f in FORMATS))
    return ext


def write_picture(path: str, data: bytes) -> None:
    """Write a picture atomically (mode 0644: pictures are for sharing); UsageError when the
    folder cannot take it."""
    try:
        write_atomic(path, data, mode=0o644)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def render(graph: Graph, path: str, **options) -> str:
    """Write the picture of `graph` to `path` (.svg, .png, .pdf or .dot), options as in
    to_dot (an image within the node budget, see budgeted_layout); returns the path."""
    drawing = layout(graph, **options) if format_of(path) == "dot" else \
        budgeted_layout(graph, **options)[0]
    write_drawing(drawing, path)
    return path


def write_drawing(drawing: Drawing, path: str) -> None:
    """Write a laid-out drawing to `path` in the format its extension names."""
    fmt = format_of(path)
    dot_source = format_dot(drawing)
    write_picture(path, dot_source.encode("utf-8") if fmt == "dot" else pipe(dot_source, fmt))
