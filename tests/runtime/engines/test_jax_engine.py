"""runtime/engines/jax_engine.py: training on the JAX engine gives the NumPy engine's losses and
variables; variables stay on the device; a last partial batch is compiled once; a batch split
across two emulated CPU devices (in a subprocess: XLA_FLAGS must be set before jax starts) gives
the variables of one device; impossible device counts are errors before training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import tensorlang as tl  # noqa: E402
from tensorlang.errors import EngineError  # noqa: E402
from tensorlang.training.context import Context  # noqa: E402
from tensorlang.training.train import run_train  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]

# an MLP in f32 on 10 examples in batches of 4: steps of 4, 4 and a partial 2
MLP = """
graph m {
    placeholder x: f32[N, 3]
    placeholder y: i32[N]
    h = Dense(x, 8, activation = tanh)
    z = Dense(h, 2)
    loss = mean(softmax_cross_entropy(z, y))
    acc  = mean(argmax(z, axis = 1) == y)
}
data d {
    x = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.2], [-0.4, 0.3, 0.9], [0.7, 0.7, -0.2],
         [0.0, -0.6, 0.4], [0.3, 0.1, 0.1], [-0.9, 0.2, 0.5], [0.6, -0.8, 0.0],
         [0.2, 0.4, -0.7], [-0.1, -0.3, 0.8]]
    y = [0, 1, 1, 0, 1, 0, 1, 0, 0, 1]
}
train m {
    data = d
    minimize = loss
    optimizer = adam(lr = 0.05)
    epochs = 6
    batch = 4
    shuffle = true
    seed = 3
    report = [loss, acc]
}
"""


def _train(text: str, engine: str, **options):
    program = tl.compile(text)
    ctx = Context(program, quiet=True, engine=engine, **options)
    result = run_train(ctx, program.runs[0])
    return ctx, result


@pytest.fixture(scope="module")
def trained():
    return _train(MLP, "numpy"), _train(MLP, "jax")


def test_training_gives_the_numpy_engines_losses_and_variables(trained):
    (np_ctx, np_result), (jx_ctx, jx_result) = trained
    want = [h["metrics"]["loss"] for h in np_result.history]
    got = [h["metrics"]["loss"] for h in jx_result.history]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert want[-1] < want[0]  # it learned something
    for name, value in np_ctx.sessions["m"].variables.items():
        np.testing.assert_allclose(np.asarray(jx_ctx.sessions["m"].variables[name]), value,
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def test_variables_stay_on_the_device(trained):
    (_, _), (jx_ctx, _) = trained
    s = jx_ctx.sessions["m"]
    assert all(isinstance(v, jax.Array) for v in s.variables.values())
    z = s.run("z", {"x": np.zeros((3, 3), np.float32)})  # fetches come back as NumPy arrays
    assert type(z) is np.ndarray and z.shape == (3, 2)


def test_finiteness_is_checked_on_the_device(trained):
    (_, _), (jx_ctx, _) = trained
    engine, values = jx_ctx.engine, list(jx_ctx.sessions["m"].variables.values())
    assert engine.first_nonfinite(values) is None
    assert engine.first_nonfinite([*values, jax.numpy.array([1.0, float("inf")])]) == \
        len(values)
    assert engine.first_nonfinite([jax.numpy.arange(3)]) is None  # integers: always finite


def test_a_last_partial_batch_is_compiled_once():
    program = tl.compile(MLP)
    ctx = Context(program, quiet=True, engine="jax")
    sizes = []
    compile_ = ctx.engine.compile
    ctx.engine.compile = lambda plan, env: sizes.append(env["N"]) or compile_(plan, env)
    run_train(ctx, program.runs[0])  # 6 epochs of steps of 4, 4 and 2 examples
    assert sorted(sizes) == [2, 4]


def test_more_devices_than_exist_is_an_error_before_training():
    with pytest.raises(EngineError, match=f"JAX sees {len(jax.devices())} device") as e:
        Context(tl.compile(MLP), quiet=True, engine="jax", devices=len(jax.devices()) + 1)
    assert "xla_force_host_platform_device_count" in e.value.hint


SHARDED = r"""
import json, sys
import numpy as np
import tensorlang as tl
from tensorlang.errors import EngineError
from tensorlang.training.context import Context
from tensorlang.training.train import run_train
text = sys.stdin.read()
out = {}
for k in (1, 2):
    program = tl.compile(text)
    ctx = Context(program, quiet=True, engine="jax", devices=k)
    result = run_train(ctx, program.runs[0])
    out[k] = {n: np.asarray(v).tolist() for n, v in ctx.sessions["m"].variables.items()}
    out[f"loss{k}"] = result["loss"]
program = tl.compile(text.replace("batch = 4", "batch = 3"))
try:
    run_train(Context(program, quiet=True, engine="jax", devices=2), program.runs[0])
except EngineError as e:
    out["error"] = e.format()
print(json.dumps(out))
"""


def test_a_batch_split_across_two_devices_gives_the_variables_of_one():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", SHARDED], input=MLP, capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    for name, one in out["1"].items():
        np.testing.assert_allclose(out["2"][name], one, rtol=1e-5, atol=1e-6, err_msg=name)
    assert abs(out["loss1"] - out["loss2"]) < 1e-5
    assert "a batch of 3 examples does not split across 2 devices" in out["error"]
    assert "<string>:" in out["error"]  # located at the train block's batch


@pytest.mark.parametrize("example", ["xor", "gender_neuron", "sine_fit", "char_rnn"])
def test_an_examples_losses_after_two_epochs_match_the_numpy_engine(example):
    histories = []
    for engine in ("numpy", "jax"):
        program = tl.load(str(ROOT / "examples" / f"{example}.tl"))
        ctx = Context(program, quiet=True, epochs=2, engine=engine)
        spec = next(s for s in program.runs if s.kind == "train")
        histories.append([h["metrics"] for h in run_train(ctx, spec).history])
    want, got = histories
    for w, g in zip(want, got):
        assert w.keys() == g.keys()
        for k in w:
            assert abs(g[k] - w[k]) <= 2e-3 * max(1.0, abs(w[k])), (k, g[k], w[k])
