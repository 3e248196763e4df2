"""The renderer: golden DOT for xor (forward and backward), every example as SVG (parsed, with its
node names and source-line tooltips), PNG, DOT without Graphviz, the missing-`dot` message,
collapse and focus node counts, the CLI's outputs and exit statuses.

Regenerate the golden files with `TENSORLANG_UPDATE_GOLDEN=1 pytest tests/tools/test_render.py`
(never done automatically) and review the diff."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tensorlang.compiler import program as P
from tensorlang.errors import NamingError, UsageError
from tensorlang.tools.cli import main
from tensorlang.tools.cli.common import with_gradient as training_graph
from tensorlang.tools.render import format_of, render, to_dot, to_svg, write_picture
from tensorlang.tools.render_layout import layout, scope_path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "render"
EXAMPLES = sorted((ROOT / "examples").glob("*.tl"))
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
XOR = "examples/xor.tl"


def xor():
    """The xor program compiled under the same file name wherever the tests run from, so the
    tooltips (`examples/xor.tl:8: ...`) in the golden files do not depend on the cwd."""
    return P.compile((ROOT / XOR).read_text(encoding="utf-8"), XOR)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TENSORLANG_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with TENSORLANG_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), \
        f"{name} changed: review, then regenerate with TENSORLANG_UPDATE_GOLDEN=1"


def svg_parts(svg: str):
    """(titles, texts, tooltips) of an SVG made by dot."""
    root = ET.fromstring(svg)
    titles = {t.text for t in root.iter(SVG + "title")}
    texts = {t.text for t in root.iter(SVG + "text")}
    tips = {a.get(XLINK + "title") for a in root.iter(SVG + "a")}
    return titles, texts, tips


def dot_nodes(dot: str) -> list[str]:
    """The ids of the graph nodes in DOT text (not the legend's)."""
    ids = re.findall(r'^\s*"([^"]+)" \[', dot, flags=re.M)
    return [i for i in ids if not i.startswith("legend:")]


def dot_edges(dot: str) -> list[tuple[str, str, str]]:
    """(src, dst, label) of every visible edge, the ones drawn upwards (dir=back) turned round."""
    found = re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*?)label="([^"]*)"', dot, flags=re.M)
    return [(b, a, label) if 'dir="back"' in attrs else (a, b, label)
            for a, b, attrs, label in found]


# -- golden DOT ----------------------------------------------------------------------------------
def test_xor_forward_golden():
    check_golden("xor.dot", to_dot(xor().graphs["xor"]))


def test_xor_backward_golden():
    prog = xor()
    check_golden("xor_backward.dot", to_dot(training_graph(prog, prog.graphs["xor"])))


def test_dot_is_deterministic_across_compiles():
    # node ids are global counters; the DOT must not depend on how many nodes came before
    first = to_dot(xor().graphs["xor"])
    P.compile((ROOT / "examples" / "mnist_mlp.tl").read_text(), "x.tl")
    assert to_dot(xor().graphs["xor"]) == first
    assert "0x" not in first


# -- what the DOT says ---------------------------------------------------------------------------
def test_xor_nodes_edges_and_labels():
    dot = to_dot(xor().graphs["xor"])
    nodes = dot_nodes(dot)
    for name in ("x", "y", "h.W", "h.b", "h", "p.W", "p.b", "p", "loss", "acc"):
        assert name in nodes
    # the two 0.5 constants of `p > 0.5` and `y > 0.5` are folded into the comparisons
    assert dot.count("greater(\u00b7, 0.5)") == 2
    assert not any("constant" in line for line in dot.splitlines() if "legend" not in line)
    edges = dot_edges(dot)
    assert ("x", "%0", "f32[N, 2]") in edges and ("h.W", "%0", "f32[2, 4]") in edges
    assert ("p", "%4", "f32[N, 1]") in edges
    assert all(re.fullmatch(r"(f32|bool)\[[^\]]*\]", label) for _, _, label in edges)
    assert len(edges) == sum(len([i for i in n.inputs if i.op != "constant"])
                             for n in xor().graphs["xor"].nodes)
    # the mean's axis is shown, its default keepdims is not
    loss = next(line for line in dot.splitlines() if line.strip().startswith('"loss"'))
    assert "axis=[0, 1]" in loss and "keepdims" not in loss and 'penwidth="2"' in loss


def test_unfolded_constants_are_nodes():
    g = xor().graphs["xor"]
    assert len(dot_nodes(to_dot(g, fold=False))) == len(dot_nodes(to_dot(g))) + 2


def test_kinds_have_their_shapes_and_clusters_nest():
    text = """
layer Block(x, units) {
    a = Dense(x, units, activation = relu)
    return Dense(a, units)
}
graph g {
    placeholder x: f32[N, 3]
    variable scale: f32[5] = ones() frozen
    constant table = [1.0, 2.0, 3.0]
    h = Block(x, 5)
    loss = mean(h * scale) + sum(table)
}
"""
    g = P.compile(text, "nest.tl").graphs["g"]
    dot = to_dot(g)
    lines = {m.group(1): m.group(0) for m in re.finditer(r'^\s*"([^"]+)" \[.*$', dot, re.M)}
    assert 'shape="invhouse"' in lines["x"]
    assert 'shape="cylinder"' in lines["h.a.W"] and "dashed" not in lines["h.a.W"]
    assert 'shape="cylinder"' in lines["scale"] and 'style="filled,dashed"' in lines["scale"]
    assert 'shape="note"' in lines["table"]
    assert 'shape="box"' in lines["loss"]
    # h.a and h.Dense_1 are clusters inside the cluster of h, one level deeper
    indent = {m.group(2): len(m.group(1))
              for m in re.finditer(r'^( *)subgraph "cluster_([^"]+)"', dot, re.M)}
    assert indent["h.a"] == indent["h.Dense_1"] == indent["h"] + 4
    block = dot[dot.index('subgraph "cluster_h" {'):]
    assert block.index('"cluster_h.a"') < block.index('"h.a.W"') < block.index('"scale"')
    assert 'label="h: Block  (50 params)"' in dot and 'label="h.a: Dense  (20 params)"' in dot
    legend = re.findall(r'"legend:(\w+)"', dot)
    assert {"placeholder", "variable", "frozen", "constant", "op"} <= set(legend)


def test_a_layer_named_like_grad_is_forward():
    g = P.compile("graph g {\n placeholder x: f32[N, 3]\n gradient_net = Dense(x, 2)\n}\n",
                  "g.tl").graphs["g"]
    kinds = {n.id: n.kind for n in layout(g).nodes}
    assert kinds["gradient_net.W"] == "variable" and kinds["gradient_net"] == "op"


def test_scope_path():
    assert scope_path("") == []
    assert scope_path("h") == ["h"]
    assert scope_path("grad/h.a") == ["grad", "grad/h", "grad/h.a"]


def test_backward_has_gradient_clusters_and_uses_forward_values():
    prog = xor()
    dot = to_dot(training_graph(prog, prog.graphs["xor"]))
    for cluster in ("grad", "grad/h", "grad/p"):
        assert f'subgraph "cluster_{cluster}"' in dot
    grad_block = dot[dot.index('subgraph "cluster_grad/h"'):]
    assert '"grad(loss)/h.W"' in grad_block and 'fillcolor="#f4cccc"' in grad_block
    # forward values read by gradient nodes arrive as grey dashed edges
    uses = re.findall(r'^\s*"(h|p|x|p\.W)" -> "[^"]+" \[color="#999999"', dot, re.M)
    assert {"h", "p", "x", "p.W"} <= set(uses)


def test_gradients_are_drawn_flowing_upwards():
    prog = xor()
    dot = to_dot(training_graph(prog, prog.graphs["xor"]))
    back = [line for line in dot.splitlines() if 'dir="back"' in line]
    assert back and all('color="#990000"' in line for line in back)
    # grad(loss)/h.W = matmul(transpose(x), g): its edges are written dst -> src so that dot
    # ranks them upwards
    into = [(a, label) for a, b, label in dot_edges(dot) if b == "grad(loss)/h.W"]
    assert sorted(label for _, label in into) == ["f32[2, N]", "f32[N, 4]"]
    assert all(f'"grad(loss)/h.W" -> "{a}"' in dot for a, _ in into)
    assert not any('dir="back"' in line for line in to_dot(prog.graphs["xor"]).splitlines())


# -- collapse and focus --------------------------------------------------------------------------
def deep_program(layers: int) -> str:
    body = "\n".join(f"    l{k} = Dense(l{k - 1}, 8, activation = relu)" for k in range(1, layers))
    return f"""
graph deep {{
    placeholder x: f32[N, 8]
    placeholder y: f32[N, 8]
    l0 = Dense(x, 8, activation = relu)
{body}
    loss = mse(l{layers - 1}, y)
}}
"""


def test_collapse_keeps_a_hundred_layers_legible():
    g = P.compile(deep_program(100), "deep.tl").graphs["deep"]
    full = dot_nodes(to_dot(g))
    dot = to_dot(g, collapse=True)
    boxes = dot_nodes(dot)
    assert len(full) == 100 * 5 + 3
    assert len(boxes) == 100 + 3 <= 110  # a box a layer, x, y, loss
    edges = dot_edges(dot)
    assert all((f"l{k}", f"l{k + 1}", "f32[N, 8]") in edges for k in range(99))
    assert ("x", "l0", "f32[N, 8]") in edges and ("l99", "loss", "f32[N, 8]") in edges
    assert "Dense \u2192 f32[N, 8]" in dot and "72 params" in dot


def test_hundred_layers_with_gradients_render(tmp_path):
    # the gradient ladder keeps dot linear: drawn below the forward pass instead, this picture
    # took dot more than ten minutes
    prog = P.compile(deep_program(100) + "data d {\n x = [[0, 0, 0, 0, 0, 0, 0, 0]]\n"
                     " y = [[0, 0, 0, 0, 0, 0, 0, 0]]\n}\ntrain deep {\n data = d\n"
                     " minimize = loss\n optimizer = sgd(lr = 0.1)\n}\n", "deep.tl")
    g = training_graph(prog, prog.graphs["deep"])
    titles, _, _ = svg_parts(to_svg(g, collapse=True))
    assert {f"grad/l{k}" for k in range(100)} <= titles and {"l0", "l99", "loss"} <= titles


def test_collapse_with_backward_boxes_gradients_too():
    prog = xor()
    d = layout(training_graph(prog, prog.graphs["xor"]), collapse=True)
    kinds = {n.id: n.kind for n in d.nodes}
    assert kinds["h"] == kinds["p"] == "layer"
    assert kinds["grad/h"] == kinds["grad/p"] == "grad_layer"
    assert "h.W" not in kinds and "grad(loss)/h.W" not in kinds
    assert next(n for n in d.nodes if n.id == "grad/p").cluster == "grad"


def test_focus_draws_the_neighbourhood():
    g = xor().graphs["xor"]
    assert dot_nodes(to_dot(g, focus="h", depth=0)) == ["h"]
    # h is tanh(%1); p's matmul %2 reads it
    assert sorted(dot_nodes(to_dot(g, focus="h", depth=1))) == ["%1", "%2", "h"]
    two = set(dot_nodes(to_dot(g, focus="h", depth=2)))
    assert two == {"%0", "h.b", "%1", "h", "%2", "p.W", "%3"}
    assert set(dot_nodes(to_dot(g, focus="%1", depth=1))) == {"%0", "h.b", "%1", "h"}
    with pytest.raises(NamingError, match='no node "hh"') as e:
        to_dot(g, focus="hh")
    assert 'did you mean "h"' in e.value.hint


# -- images --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_renders_to_svg(path):
    prog = P.load(str(path))
    for g in prog.graphs.values():
        titles, texts, tips = svg_parts(to_svg(g))
        for node in g.nodes:
            if node.name and not (node.op == "constant" and node.type.rank == 0):
                assert node.name in titles, f"{g.name}: {node.name} is not drawn"
        for node in ("loss", "acc"):
            if node in g.names and g.names[node].name == node:
                assert node in texts
        assert any(t and re.match(rf".*{re.escape(path.name)}:\d+: \S", t) for t in tips)


def test_svg_tooltips_quote_the_source_line():
    titles, texts, tips = svg_parts(to_svg(xor().graphs["xor"]))
    assert {"h.W", "loss", "x"} <= titles and {"h.W", "loss"} <= texts
    assert "examples/xor.tl:8: h = Dense(x, hidden, activation = tanh) # a layer: owns " \
        "variables h.W and h.b" in tips
    assert "examples/xor.tl:10: loss = mean(binary_cross_entropy(p, y))" in tips


def test_repr_svg():
    assert xor().graphs["xor"]._repr_svg_().lstrip().startswith(("<?xml", "<svg"))


def test_png_and_pdf(tmp_path):
    g = xor().graphs["xor"]
    png = render(g, str(tmp_path / "xor.png"))
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = render(g, str(tmp_path / "xor.pdf"), collapse=True)
    assert Path(pdf).read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xor.pdf", "xor.png"]  # no temp files


def test_format_of():
    assert [format_of(p) for p in ("a.svg", "b.PNG", "c.pdf", "d.dot", "e.gv")] == \
        ["svg", "png", "pdf", "dot", "dot"]
    with pytest.raises(UsageError, match="picture format"):
        format_of("out.jpeg")


def test_write_picture_replaces_whole_files(tmp_path):
    out = tmp_path / "g.dot"
    out.write_text("old")
    write_picture(str(out), b"new")
    assert out.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["g.dot"]
    with pytest.raises(UsageError, match="cannot write"):
        write_picture(str(tmp_path / "missing" / "g.dot"), b"x")


# -- the command ---------------------------------------------------------------------------------
def run_cli(capsys, *argv) -> tuple[int, str, str]:
    status = main(["graph", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_default_output_is_graph_svg_in_cwd(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, str(ROOT / XOR))
    assert status == 0 and out.strip() == "xor.svg", err
    assert (tmp_path / "xor.svg").read_text().count("<svg") == 1


def test_cli_dot_output_needs_no_graphviz(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out_file = tmp_path / "xor.dot"
    status, out, err = run_cli(capsys, str(ROOT / XOR), "--backward", "-o", str(out_file))
    assert status == 0, err
    assert out.strip() == str(out_file)
    assert out_file.read_text().startswith('digraph "xor" {') and "grad(loss)/h.W" in \
        out_file.read_text()


def test_cli_without_dot_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out_file = tmp_path / "xor.svg"
    status, out, err = run_cli(capsys, str(ROOT / XOR), "-o", str(out_file))
    assert status == 1 and out == ""
    assert "`dot` program is not on PATH" in err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert "Traceback" not in err and not out_file.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_cli_png(tmp_path, capsys):
    out_file = tmp_path / "cnn.png"
    status, out, err = run_cli(capsys, str(ROOT / "examples" / "mnist_cnn.tl"), "--collapse",
                               "-o", str(out_file))
    assert status == 0, err
    assert out_file.read_bytes().startswith(b"\x89PNG")


def test_cli_train_draws_the_updates(tmp_path, capsys):
    out_file = tmp_path / "xor.dot"
    status, out, err = run_cli(capsys, str(ROOT / XOR), "--train", "-o", str(out_file))
    assert status == 0, err
    dot = out_file.read_text()
    assert '"update(h.W)" -> "h.W"' in dot and 'subgraph "cluster_optimizer"' in dot
    assert '"update(opt/h.W/momentum)" -> "opt/h.W/momentum"' in dot
    assert '"legend:update"' in dot and '"legend:state"' in dot


def test_cli_focus_and_collapse(tmp_path, capsys):
    out_file = tmp_path / "f.dot"
    status, _, err = run_cli(capsys, str(ROOT / XOR), "--focus", "loss", "--depth", "1",
                             "-o", str(out_file))
    assert status == 0, err
    assert sorted(dot_nodes(out_file.read_text())) == ["%4", "loss"]
    status, _, err = run_cli(capsys, str(ROOT / XOR), "--collapse", "-o", str(out_file))
    assert status == 0, err
    assert {"h", "p"} <= set(dot_nodes(out_file.read_text()))


@pytest.mark.parametrize("argv, message", [
    (("-o", "x.jpeg"), "cannot tell the picture format"),
    (("-g", "xr"), 'has no graph "xr"'),
    (("--focus", "nope"), 'no node "nope"'),
    (("--focus", "h", "--depth", "-1"), "--depth must be 0 or more"),
])
def test_cli_mistakes_exit_1(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, str(ROOT / XOR), *argv)
    assert status == 1 and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_backward_without_train_block(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for flag in ("--backward", "--train"):
        status, _, err = run_cli(capsys, str(ROOT / "examples" / "neuron.tl"), flag)
        assert status == 1 and 'no train block trains graph "neuron"' in err


def test_beyond_the_node_budget_layers_collapse_then_a_part_is_asked_for(tmp_path, monkeypatch,
                                                                          capsys):
    from tensorlang.tools import render as R
    fake_dot(tmp_path, monkeypatch, "cat > /dev/null; echo '<svg/>'")
    full = len(layout(training_graph(P.load(str(ROOT / XOR)), P.load(str(ROOT / XOR))
                                     .graphs["xor"])).nodes)
    monkeypatch.setattr(R, "NODE_BUDGET", full - 1)
    status, out, err = run_cli(capsys, str(ROOT / XOR), "--backward", "-o",
                               str(tmp_path / "g.svg"))
    assert status == 0 and "each layer and its gradient is drawn as one box" in err
    monkeypatch.setattr(R, "NODE_BUDGET", 2)
    status, out, err = run_cli(capsys, str(ROOT / XOR), "--backward", "-o",
                               str(tmp_path / "h.svg"))
    assert status == 1 and "too many to draw as a picture" in err and "--focus NODE" in err
    assert not (tmp_path / "h.svg").exists()
    status, _, err = run_cli(capsys, str(ROOT / XOR), "--backward", "-o", str(tmp_path / "g.dot"))
    assert status == 0, err  # DOT source has no budget: nothing is drawn


def fake_dot(tmp_path, monkeypatch, script: str) -> None:
    """A `dot` on PATH that runs `script` (sh)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    dot = bin_dir / "dot"
    dot.write_text(f"#!/bin/sh\n{script}\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")


def test_dot_runs_under_a_timeout(tmp_path, monkeypatch, capsys):
    from tensorlang.tools import render as R
    fake_dot(tmp_path, monkeypatch, "exec sleep 30")
    monkeypatch.setattr(R, "DOT_TIMEOUT", 0.5)
    status, out, err = run_cli(capsys, str(ROOT / XOR), "-o", str(tmp_path / "x.svg"))
    assert status == 1 and "did not finish drawing in 0.5 s" in err
    assert not (tmp_path / "x.svg").exists()
