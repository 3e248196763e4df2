"""lstm and gru against PyTorch 2.13's nn.LSTM and nn.GRU (one layer, batch_first, the same
weights copied in), in float64: every state and every gradient (inputs, initial states,
weights, biases) to 1e-10; and the prelude's LSTM and GRU layers."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl

torch = pytest.importorskip("torch")

N, T, D, H = 3, 5, 4, 6
PROGRAM = """
graph g {{
    placeholder x: f64[N, T, {D}]
    placeholder h0: f64[N, {H}]
    placeholder c0: f64[N, {H}]
    placeholder w: f64[N, T, {H}]
    variable Wx: f64[{D}, {G}] = normal()
    variable Wh: f64[{H}, {G}] = normal()
    variable b: f64[{G}] = normal()
    variable b2: f64[{G}] = normal()
    hs = {call}
    loss = sum(hs * w)
    dx = grad(loss, x)
    dh0 = grad(loss, h0)
    {dc0}
    dWx = grad(loss, Wx)
    dWh = grad(loss, Wh)
    db = grad(loss, b)
    {db2}
}}
"""


def _compile(kind: str):
    gates = 4 if kind == "lstm" else 3
    call = "lstm(x, h0, c0, Wx, Wh, b)" if kind == "lstm" else "gru(x, h0, Wx, Wh, b, b2)"
    text = PROGRAM.format(D=D, H=H, G=gates * H, call=call,
                          dc0="dc0 = grad(loss, c0)" if kind == "lstm" else "",
                          db2="db2 = grad(loss, b2)" if kind == "gru" else "")
    return tl.compile(text).graphs["g"]


def _torch_module(kind: str, sess):
    mod = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(D, H, batch_first=True).double()
    v = sess.variables
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.from_numpy(v["Wx"].T.copy()))
        mod.weight_hh_l0.copy_(torch.from_numpy(v["Wh"].T.copy()))
        if kind == "lstm":  # one bias: split it between PyTorch's two
            mod.bias_ih_l0.copy_(torch.from_numpy(v["b"] - 0.25))
            mod.bias_hh_l0.fill_(0.25)
        else:
            mod.bias_ih_l0.copy_(torch.from_numpy(v["b"]))
            mod.bias_hh_l0.copy_(torch.from_numpy(v["b2"]))
    return mod


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_values_and_every_gradient_equal_pytorch(kind):
    g = _compile(kind)
    sess = tl.Session(g, seed=3)
    rng = np.random.default_rng(0)
    feed = {"x": rng.normal(size=(N, T, D)), "h0": rng.normal(size=(N, H)),
            "c0": rng.normal(size=(N, H)), "w": rng.normal(size=(N, T, H))}
    names = ["hs", "dx", "dh0", "dWx", "dWh", "db"] + (["dc0"] if kind == "lstm" else ["db2"])
    got = dict(zip(names, sess.run(names, feed)))

    mod = _torch_module(kind, sess)
    x = torch.tensor(feed["x"], requires_grad=True)
    h0 = torch.tensor(feed["h0"][None], requires_grad=True)
    c0 = torch.tensor(feed["c0"][None], requires_grad=True)
    out, _ = mod(x, (h0, c0)) if kind == "lstm" else mod(x, h0)
    (out * torch.tensor(feed["w"])).sum().backward()
    want = {"hs": out.detach().numpy(), "dx": x.grad.numpy(), "dh0": h0.grad.numpy()[0],
            "dWx": mod.weight_ih_l0.grad.numpy().T, "dWh": mod.weight_hh_l0.grad.numpy().T,
            "db": mod.bias_ih_l0.grad.numpy()}
    if kind == "lstm":
        want["dc0"] = c0.grad.numpy()[0]
        np.testing.assert_allclose(mod.bias_hh_l0.grad.numpy(), want["db"], atol=1e-12)
    else:
        want["db2"] = mod.bias_hh_l0.grad.numpy()
    for name in names:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-10,
                                   err_msg=f"{kind} {name}")


@pytest.mark.parametrize("layer, weights", [("LSTM", ("Wx", "Wh", "b")),
                                             ("GRU", ("Wx", "Wh", "bx", "bh"))])
def test_prelude_layers_start_from_zero_states(layer, weights):
    p = tl.compile(f"graph g {{\n placeholder x: f64[N, T, {D}]\n r = {layer}(x, {H})\n}}\n")
    g = p.graphs["g"]
    assert g.node("r").shape == ("N", "T", H)
    assert sorted(v.name for v in g.variables) == sorted(f"r.{w}" for w in weights)
    sess = tl.Session(g, seed=1)
    x = np.random.default_rng(2).normal(size=(2, 3, D))
    kind = layer.lower()
    mod = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(D, H, batch_first=True).double()
    v = sess.variables
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.from_numpy(v["r.Wx"].T.copy()))
        mod.weight_hh_l0.copy_(torch.from_numpy(v["r.Wh"].T.copy()))
        mod.bias_ih_l0.copy_(torch.from_numpy(v["r.b"] if kind == "lstm" else v["r.bx"]))
        mod.bias_hh_l0.copy_(torch.zeros(mod.bias_hh_l0.shape, dtype=torch.float64)
                             if kind == "lstm" else torch.from_numpy(v["r.bh"]))
    want, _ = mod(torch.from_numpy(x))
    np.testing.assert_allclose(sess.run("r", {"x": x}), want.detach().numpy(), rtol=1e-10,
                               atol=1e-12)


def test_a_second_derivative_through_lstm_is_a_located_error():
    text = """
graph g {
    placeholder x: f64[N, 2, 3]
    variable Wx: f64[3, 8] = normal()
    variable Wh: f64[2, 8] = normal()
    variable b: f64[8] = zeros()
    hs = lstm(x, zeros([N, 2]), zeros([N, 2]), Wx, Wh, b)
    gw = grad(sum(hs), Wx)
    gg = grad(sum(gw), Wh)
}
"""
    with pytest.raises(tl.ShapeError, match="gradients of gradients through lstm") as e:
        tl.compile(text, "t.tl")
    assert e.value.line == 7  # the line of the gradient that cannot be differentiated again


def _lstm_weights(rng, n=3, t=4, d=2, h=3, gates=4):
    return [rng.normal(size=(n, t, d)), rng.normal(size=(n, h)), rng.normal(size=(n, h)),
            0.5 * rng.normal(size=(d, gates * h)), 0.5 * rng.normal(size=(h, gates * h)),
            0.1 * rng.normal(size=gates * h)]


def _gated_case(kind, rng):
    """(tape kernel, its inputs, g -> {input index: the gradient the kernels give})."""
    from tensorlang.ops import gated, recurrent
    if kind == "lstm":
        args = _lstm_weights(rng)
        h = args[1].shape[1]

        def grads(tape, g):
            da = gated._lstm_bptt(tape, args[2], args[4], g)
            return {2: gated._lstm_grad_c0(tape, args[2], args[4], g),
                    3: recurrent._grad_wx(args[0], da),
                    4: recurrent._grad_wh(args[1], tape[..., :h], da),
                    5: recurrent._grad_b(da)}
        return gated._lstm_tape, args, grads
    x, h0, _, wx, wh, bx = _lstm_weights(rng, gates=3)
    args = [x, h0, wx, wh, bx, 0.1 * rng.normal(size=bx.shape)]
    h = h0.shape[1]

    def grads(tape, g):
        da = gated._gru_bptt(tape, h0, wh, g)
        dax, dah = da[..., :3 * h], da[..., 3 * h:]
        return {1: gated._gru_grad_h0(tape, h0, wh, g), 2: recurrent._grad_wx(x, dax),
                3: recurrent._grad_wh(h0, tape[..., :h], dah), 4: recurrent._grad_b(dax),
                5: recurrent._grad_b(dah)}
    return gated._gru_tape, args, grads


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("states_only", [False, True])
@pytest.mark.parametrize("chunk_steps", [None, 1, 3])
def test_the_kernels_backprop_any_tape_gradient_as_finite_differences(kind, states_only,
                                                                     chunk_steps, monkeypatch):
    """The kernels on their own, in their time-major layout: for L = sum(tape * G) (G over the
    whole tape, cells and gates too, or over its states only) the gradients made from the BPTT
    kernel's dA by the rnn_grad_* kernels (weights, biases, the initial state) equal central
    differences of L. With chunk_steps, the LSTM's BPTT and the weight contractions work in
    chunks of that many steps (of the 4 there are: one a step, or 3 and then 1)."""
    from tensorlang.ops import gated, recurrent
    tape_of, args, grads = _gated_case(kind, np.random.default_rng(7))
    n, h = args[1].shape
    if chunk_steps:
        monkeypatch.setattr(gated, "BPTT_CHUNK_ELEMENTS", chunk_steps * 4 * h * n)
        monkeypatch.setattr(recurrent, "CHUNK_ELEMENTS", chunk_steps * 4 * h * h)
    tape = tape_of(*args)
    weights = np.random.default_rng(9).normal(size=tape.shape)
    if states_only:
        weights[..., h:] = 0
    got = grads(tape, weights[..., :h] if states_only else weights)

    def loss(k, value):
        moved = list(args)
        moved[k] = value
        return float((tape_of(*moved) * weights).sum())
    for k, value in got.items():
        want = np.zeros(value.shape)
        for idx in np.ndindex(*value.shape):
            e = np.zeros(value.shape)
            e[idx] = 1e-6
            want[idx] = (loss(k, args[k] + e) - loss(k, args[k] - e)) / 2e-6
        np.testing.assert_allclose(value, want, rtol=1e-6, atol=1e-7, err_msg=f"input {k}")


@pytest.mark.parametrize("kind, width", [("lstm", 6), ("gru", 5)])
def test_the_tapes_are_time_major_and_float32_stays_float32(kind, width):
    tape_of, args, _ = _gated_case(kind, np.random.default_rng(8))
    tape = tape_of(*[a.astype(np.float32) for a in args])
    assert tape.dtype == np.float32 and tape.shape == (3, 4, width * 3)
    assert tape.transpose(1, 2, 0).flags.c_contiguous  # each step's blocks contiguous
    np.testing.assert_allclose(tape, tape_of(*args), rtol=1e-5, atol=1e-6)
