"""rnn: symbolic N and T in the shape rule and in the backward graph, size mismatches named in
errors, one backprop-through-time per gradient, runs with N and T bound at run time."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import recurrent as R
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

from .references import recurrent as ref

N, T = D.Dim.sym("N"), D.Dim.sym("T")


def rnn_graph(x=(N, T, 3), h0=(N, 5), wx=(3, 5), wh=(5, 5), b=(5,), dtype="f64"):
    """A builder, the five placeholders (x, h0, Wx, Wh, b) and the rnn node."""
    bld = Builder("t")
    phs = []
    for name, s in zip(("x", "h0", "Wx", "Wh", "b"), (x, h0, wx, wh, b)):
        ph = bld.add("placeholder", (), {"default": None}, type=TensorType(dtype, tuple(s)),
                     name=name)
        phs.append(bld.bind(name, ph, ph.span))
    return bld, phs, bld.add("rnn", phs)


def error_of(**shapes) -> str:
    with pytest.raises(ShapeError) as e:
        rnn_graph(**shapes)
    return e.value.message


def test_rnn_shape_with_symbolic_batch_and_time():
    _, _, y = rnn_graph()
    assert y.shape == ("N", "T", 5) and y.dtype == "f64"
    _, _, y = rnn_graph(x=(N, 2 * T, 3), dtype="f32")
    assert y.shape == ("N", "2*T", 5) and y.dtype == "f32"


@pytest.mark.parametrize("shapes,needle", [
    ({"x": (2, T, 3), "h0": (4, 5)}, "batch sizes of x and h0: 2 and 4 differ"),
    ({"wx": (4, 5)}, "input sizes of x and Wx: 3 and 4 differ"),
    ({"wh": (5, 6)}, "state sizes of Wh and h0: 6 and 5 differ"),
    ({"b": (6,)}, "state sizes of Wh and b: 5 and 6 differ"),
    ({"x": (N, 3)}, "x [N, T, D] must have rank 3, not [N, 3]"),
])
def test_rnn_mismatches_name_both_sizes(shapes, needle):
    msg = error_of(**shapes)
    assert msg.startswith("rnn: ")
    assert needle in msg


def test_rnn_rejects_integer_inputs():
    with pytest.raises(ShapeError, match="needs float tensors"):
        rnn_graph(dtype="i32")


def _loss_and_grads(bld, phs, y):
    w = bld.add("placeholder", (), {"default": None}, type=y.type, name="w")
    w = bld.bind("w", w, w.span)
    loss = bld.op("sum_to", bld.op("multiply", y, w), shape=())
    return gradients(bld, loss, phs)


def test_the_gradient_is_one_backprop_through_time():
    bld, phs, y = rnn_graph()
    grads = _loss_and_grads(bld, phs, y)
    graph = bld.finish()
    assert sum(n.op == "rnn_bptt" for n in graph.nodes) == 1
    assert [g.shape for g in grads] == [("N", "T", 3), ("N", 5), (3, 5), (5, 5), (5,)]
    graph.verify()


@pytest.mark.parametrize("n,t", [(2, 4), (1, 1), (3, 0)])
def test_gradients_run_with_symbolic_batch_and_time(n, t):
    bld, phs, y = rnn_graph()
    grads = _loss_and_grads(bld, phs, y)
    rng = np.random.default_rng(n + t)
    feed = {"x": rng.normal(size=(n, t, 3)), "h0": rng.normal(size=(n, 5)),
            "Wx": 0.5 * rng.normal(size=(3, 5)), "Wh": 0.5 * rng.normal(size=(5, 5)),
            "b": rng.normal(size=5), "w": rng.normal(size=(n, t, 5))}
    values = Session(bld.finish()).run([y, *grads], feed)
    hs = ref.rnn(feed["x"], feed["h0"], feed["Wx"], feed["Wh"], feed["b"])
    np.testing.assert_allclose(values[0], hs)
    da = ref.rnn_bptt(hs, feed["Wh"], feed["w"])
    expected = [ref.rnn_grad_x(da, feed["Wx"]),
                ref.rnn_grad_h0(da, feed["Wh"]) if t else np.zeros((n, 5)),
                ref.rnn_grad_Wx(feed["x"], da), ref.rnn_grad_Wh(feed["h0"], hs, da),
                da.sum(axis=(0, 1))]
    for got, want in zip(values[1:], expected):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_second_order_through_rnn_is_a_located_error_not_a_silent_zero():
    bld, phs, y = rnn_graph()
    gwx = _loss_and_grads(bld, phs, y)[2]
    with pytest.raises(ShapeError, match="no gradient through rnn_grad_Wx: it is the "
                                         "first-order gradient of a recurrence"):
        gradients(bld, bld.op("sum_to", gwx, shape=()), [phs[3]])


@pytest.mark.parametrize("name, inputs", [("rnn_grad_x", ("dA", "Wx")),
                                          ("rnn_grad_Wx", ("x", "dA")),
                                          ("rnn_grad_Wh", ("h0", "hs", "dA")),
                                          ("rnn_grad_b", ("dA",))])
@pytest.mark.parametrize("sliced", [False, True])
def test_the_contractions_read_the_gated_kernels_time_major_layout(name, inputs, sliced):
    """dA (and the states) laid out as the gated kernels return them, [N, T, K] views of
    [T, K, N] arrays (or slices along K of those, as the GRU's dA is cut in two): the same
    values as the references give for ordinary arrays."""
    from tensorlang.ops import REGISTRY
    rng = np.random.default_rng(11)
    n, t, d, h, k = 5, 6, 3, 4, 16
    plain = {"dA": rng.normal(size=(n, t, k)), "Wx": rng.normal(size=(d, k)),
             "x": rng.normal(size=(n, t, d)), "h0": rng.normal(size=(n, h)),
             "hs": rng.normal(size=(n, t, h))}
    def laid_out(v):
        if v.ndim != 3:
            return v
        if sliced:  # v the first part of a wider time-major array
            wide = np.zeros(v.shape[:2] + (2 * v.shape[2],))
            wide[..., :v.shape[2]] = v
            return np.ascontiguousarray(wide.transpose(1, 2, 0)).transpose(2, 0, 1)[
                ..., :v.shape[2]]
        return np.ascontiguousarray(v.transpose(1, 2, 0)).transpose(2, 0, 1)
    laid = {key: laid_out(v) for key, v in plain.items()}
    assert not laid["dA"].flags.c_contiguous
    assert R._blocked(laid["dA"]) is not None  # the fast path is the one tested
    got = REGISTRY[name].kernel(*[laid[i] for i in inputs])
    want = getattr(ref, name)(*[plain[i] for i in inputs])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_elements", [1, 7 * 16, 3 * 4 * 16])
@pytest.mark.parametrize("name, inputs", [("rnn_grad_Wx", ("x", "dA")),
                                          ("rnn_grad_Wh", ("h0", "hs", "dA"))])
@pytest.mark.parametrize("time_major", [False, True])
def test_the_weight_contractions_sum_every_chunk_of_steps(monkeypatch, name, inputs,
                                                          chunk_elements, time_major):
    """The weight gradients multiply a chunk of steps at a time: with chunks of one step,
    of some steps (the last chunk shorter) and of all of them, the sums equal the references';
    also with the states' blocks laid out as a tape holds them ([H, N], copied a chunk at a
    time into [N, H] rows before they are multiplied)."""
    from tensorlang.ops import REGISTRY
    monkeypatch.setattr(R, "CHUNK_ELEMENTS", chunk_elements)
    rng = np.random.default_rng(12)
    n, t, d, h, k = 3, 11, 4, 4, 16
    arrays = {"dA": rng.normal(size=(n, t, k)), "x": rng.normal(size=(n, t, d)),
              "h0": rng.normal(size=(n, h)), "hs": rng.normal(size=(n, t, h))}
    given = dict(arrays)
    if time_major:
        for key in ("x", "hs"):
            given[key] = np.ascontiguousarray(arrays[key].transpose(1, 2, 0)).transpose(2, 0, 1)
    steps = R._chunk_steps(d if name == "rnn_grad_Wx" else h, k)
    assert steps == max(1, chunk_elements // (4 * k))
    got = REGISTRY[name].kernel(*[given[i] for i in inputs])
    want = getattr(ref, name)(*[arrays[i] for i in inputs])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
