"""tools/export_onnx.py: every example's inference graph exported and run by onnxruntime on
the example's own data to tensorlang's values (f32, 1e-5), or a located error naming the op it
cannot write; symbolic dims as dim_params that survive ONNX shape inference; the training
steps of xor and of MNIST subsets (MLP, CNN, batch norm) trained in a plain onnxruntime loop
to tensorlang's variables (1e-4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import tensorlang as tl  # noqa: E402
from tensorlang.errors import ExportError  # noqa: E402
from tensorlang.runtime.session import Session  # noqa: E402
from tensorlang.tools import export_onnx  # noqa: E402
from tensorlang.training.context import Context  # noqa: E402
from tensorlang.training.step import training_step  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.tl"))
SMALL = {"train_examples": 256, "test_examples": 64}  # the MNIST examples' subsets
NO_ONNX_FORM = {"scan", "solve", "det", "inv", "dropout",
                "categorical"}


def _load(name: str, request):
    """The example compiled; an MNIST one reads MNIST where the mnist_dir fixture finds it (the
    test is skipped where it is not there)."""
    text = (ROOT / "examples" / f"{name}.tl").read_text()
    sets = {k: v for k, v in SMALL.items() if f"let {k}" in text}
    if "let mnist" in text:
        sets["mnist"] = str(request.getfixturevalue("mnist_dir"))
    return tl.load(str(ROOT / "examples" / f"{name}.tl"), overrides=sets)


def _feed(program, graph, sess, rows: int = 32) -> dict:
    spec = next((s for s in program.runs if s.graph == graph.name and s.data), None)
    if spec is not None:
        data = Context(program, quiet=True).data(spec.data, sess)
        return {k: v[:rows] for k, v in data.items()}
    rng = np.random.default_rng(0)
    return {p.name: rng.normal(size=tuple(d if isinstance(d, int) else 3
                                          for d in p.type.shape)).astype(np.float32)
            for p in graph.placeholders}


def _ort(model):
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warning for initializers that are inputs (by design)
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_examples_inference_graph_runs_in_onnxruntime(example, request):
    program = _load(example, request)
    for graph in program.graphs.values():
        sess = Session(graph, seed=0)
        try:
            model = export_onnx.inference_model(graph, sess.variables)
        except ExportError as e:
            assert e.line is not None and any(f'op "{op}"' in e.message for op in NO_ONNX_FORM)
            continue
        run = _ort(model)
        feed = _feed(program, graph, sess)
        names = [o.name for o in run.get_outputs()]
        want = sess.run(names, feed)
        inputs = {i.name for i in run.get_inputs()}
        got = run.run(names, {k: v for k, v in feed.items() if k in inputs})
        for name, w, g in zip(names, want, got):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"{example}: {name}")


def test_symbolic_dims_survive_shape_inference():
    program = _load("xor", None)
    model = export_onnx.inference_model(program.graphs["xor"], Session(program.graphs["xor"])
                                        .variables, ["p", "acc"])
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 1]
    assert inferred.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert model.opset_import[0].version >= 17
    casts = [n for n in model.graph.node if n.op_type == "Cast"]  # acc's bool -> f32 mean
    assert casts
    inner = {v.name: v for v in inferred.graph.value_info}  # N carried through the graph
    assert any(v.type.tensor_type.shape.dim[0].dim_param == "N" for v in inner.values()
               if v.type.tensor_type.shape.dim)


# a bias just before batch norm has a zero gradient in exact arithmetic (batch norm subtracts
# it again), so what both sides compute is rounding noise, which Adam scales up to lr-sized
# steps; the running means follow those biases
NOISE = {"mnist_batchnorm": ("Dense_1.b", "Dense_2.b", "BatchNorm_1.mean", "BatchNorm_2.mean")}


def _train_in_both(example: str, steps: int, batch: int, request):
    """The variables after `steps` steps in tensorlang and in an onnxruntime loop."""
    program = _load(example, request)
    spec = next(s for s in program.runs if s.kind == "train")
    ctx = Context(program, quiet=True)
    base = ctx.session(spec)
    model = export_onnx.training_model(program, spec, base)
    step = training_step(ctx, spec, base)
    data = ctx.data(spec.data, base)
    run = _ort(model)
    inputs = [i.name for i in model.graph.input]
    state = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer
             if i.name in inputs}
    outputs = [o.name for o in run.get_outputs()]
    for k in range(steps):
        at = slice(k * batch % len(next(iter(data.values()))), None)
        feed = {n: v[at][:batch] for n, v in data.items()}
        step(feed, 1, k + 1)
        values = dict(zip(outputs, run.run(outputs, {**feed, **state})))
        state = {n: values[f"{n}.new"] for n in state}
    return state, step.sess.variables


@pytest.mark.parametrize("example,steps,batch", [("xor", 30, 4), ("mnist_mlp", 4, 64),
                                                 ("mnist_cnn", 2, 16), ("mnist_batchnorm", 2, 16)])
def test_a_training_step_trains_in_plain_onnxruntime(example, steps, batch, request):
    state, variables = _train_in_both(example, steps, batch, request)
    assert len(state) >= 4
    for name in NOISE.get(example, ()):  # their gradients are rounding noise on both sides
        if name.endswith(".b"):
            assert np.abs(state[f"opt/{name}/m"]).max() < 1e-7
        del state[name]
    for name, value in state.items():
        np.testing.assert_allclose(value, np.asarray(variables[name]), rtol=1e-4, atol=1e-4,
                                   err_msg=name)


def test_an_op_without_an_onnx_form_is_a_located_error():
    program = tl.compile("graph g {\n placeholder x: f32[3, 3]\n s = det(x)\n}\n")
    with pytest.raises(ExportError, match='op "det" has no ONNX form') as e:
        export_onnx.inference_model(program.graphs["g"], {})
    assert e.value.line == 3


def test_the_gradient_of_indexing_under_a_symbolic_batch():
    from tensorlang.transforms.autodiff import backward
    program = tl.compile("graph g {\n placeholder x: f32[N, 4, 3]\n"
                         " loss = sum(x[:, 1:3, 2] * 2.0)\n}\n")
    graph = backward(program.graphs["g"], "loss", [program.graphs["g"].node("x")])
    grad = next(n for n in graph.nodes if n.op == "index_grad")
    model = export_onnx.inference_model(graph, {}, ["grad(loss)/x"])
    assert not any(isinstance(d, int) for d in grad.type.shape[:1])  # N stays symbolic
    x = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    got = _ort(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, Session(graph).run("grad(loss)/x", {"x": x}), atol=0)
