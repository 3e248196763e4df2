"""Every example runs and computes what an independent reference says: NumPy for the basics,
hand arithmetic for the fixed neurons, truth tables for the gates, accuracy and sin(x) for the
trained models; one example also runs through the installed `tensorlang` command."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.training.context import Context
from tensorlang.training.evaluate import run_evaluate
from tensorlang.training.train import run_train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, overrides=None, **options):
    """Run an example's blocks; returns (context, results per block, printed output)."""
    program = tl.load(str(EXAMPLES / name), overrides=overrides)
    out = io.StringIO()
    ctx = Context(program, out=out, **options)
    results = [run_train(ctx, s) if s.kind == "train" else run_evaluate(ctx, s)
               for s in program.runs]
    return ctx, results, out.getvalue()


def test_every_example_opens_with_a_comment_saying_what_it_shows():
    for path in EXAMPLES.glob("*.tl"):
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"# {path.name}: "), path.name


def test_numpy_basics_match_numpy():
    ctx, (shown,), out = run("numpy_basics.tl")
    data = ctx.data("arrays")
    a, b = data["a"].astype(np.float64), data["b"].astype(np.float64)
    A, r = data["A"].astype(np.float64), data["r"].astype(np.float64)
    want = {
        "zero": np.zeros((2, 3)),
        "bcast": a + np.array([10, 20, 30]),
        "col": a * r.reshape(2, 1),
        "c_order": a.reshape(3, 2),
        "f_order": a.reshape(3, 2, order="F"),
        "single": np.squeeze(a.reshape(1, 6), 0),
        "joined": np.concatenate([a, b], axis=0),
        "stacked": np.stack([a, b], axis=0),
        "side": np.hstack([a, b]),
        "waves": np.sin(a) + np.cos(b),
        "plus": a + b, "minus": a - b, "times": a * b, "ratio": a / b,
        "biggest": a.max(axis=1), "least": b.min(), "larger": np.maximum(a, b),
        "sorted": np.sort(b, axis=1),
        "picked": np.where(a > b, a, b),
        "s": np.linalg.solve(A, r),
        "check": np.zeros(2),
    }
    assert set(shown) == set(want)
    for k, v in want.items():
        got = np.asarray(shown[k])
        assert got.shape == v.shape, k
        np.testing.assert_allclose(got, v, rtol=1e-6, atol=1e-6, err_msg=k)
    assert not np.array_equal(want["c_order"], want["f_order"])  # the two orders differ
    assert "f_order = [[1., 5.]," in out


def test_neuron_matches_hand_computation():
    _, (res,), out = run("neuron.tl")
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [2, 3, -1]], dtype=float)
    z = np.array([0.5 * a - 1.0 * b + 2.0 * c + 0.25 for a, b, c in x])
    assert z.tolist() == [0.75, -0.75, 2.25, 1.75, -3.75]
    np.testing.assert_allclose(res["z"], z, rtol=1e-6)
    np.testing.assert_allclose(res["out"], [1 / (1 + np.exp(-v)) for v in z], rtol=1e-6)
    np.testing.assert_allclose(res["rectify"], [max(v, 0.0) for v in z])
    assert res["fires"] == pytest.approx(3 / 5)
    assert "evaluate neuron on samples:  fires 0.6000" in out


def test_logic_gates_truth_tables():
    _, (res,), _ = run("logic_gates.tl")
    pairs = [(0, 0), (0, 1), (1, 0), (1, 1)]
    tables = {"and": [a and b for a, b in pairs], "or": [a or b for a, b in pairs],
              "nand": [not (a and b) for a, b in pairs], "xor": [a != b for a, b in pairs]}
    for gate, want in tables.items():
        got = np.asarray(res[gate]).ravel()
        np.testing.assert_array_equal(got > 0.5, want, err_msg=gate)
        assert np.all(np.abs(got - np.asarray(want, dtype=float)) < 1e-3), gate  # confident
    np.testing.assert_array_equal(res["truth"], np.array([tables[g] for g in tables]).T)


def test_xor_learns():
    ctx, (trained, shown), out = run("xor.tl")
    assert trained["acc"] == 1.0 and shown["acc"] == 1.0
    np.testing.assert_array_equal(np.asarray(shown["p"]).ravel() > 0.5, [0, 1, 1, 0])
    assert trained["loss"] < 0.01
    assert "epoch 500/500  loss " in out


def test_gender_neuron_classifies_held_out_people():
    ctx, (trained, held_out), _ = run("gender_neuron.tl")
    assert held_out["acc"] >= 0.9  # the stated threshold: 9 in 10 held-out people
    assert trained["val_acc"] == held_out["acc"]
    # the accuracy again, by NumPy from the CSV and the trained weights
    rows = np.loadtxt(EXAMPLES / "data" / "gender.csv", delimiter=",", skiprows=1)[160:]
    v = ctx.sessions["gender"].variables
    z = (rows[:, :3] - [18, 170, 71]) / [12, 9, 12]
    p = 1 / (1 + np.exp(-(z @ v["p.W"].astype(float) + v["p.b"])))
    assert held_out["acc"] == pytest.approx(np.mean((p[:, 0] > 0.5) == (rows[:, 3] > 0.5)))


def test_gender_csv_is_what_the_script_makes(tmp_path):
    sys.path.insert(0, str(EXAMPLES / "data"))
    try:
        import make_gender
    finally:
        sys.path.pop(0)
    rows = make_gender.make()
    stored = np.loadtxt(EXAMPLES / "data" / "gender.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(stored, np.round(rows, 1), atol=0.051)
    assert stored[:, 3].mean() == 0.5


def test_sine_fit_approximates_sin():
    ctx, (trained, between), _ = run("sine_fit.tl")
    assert trained["val_loss"] < 1e-4 and between["loss"] < 1e-4
    sess = ctx.sessions["sine"]
    t = np.linspace(-np.pi + 0.05, np.pi - 0.05, 201).astype(np.float32)
    pred = sess.run("pred", {"t": t})
    assert pred.shape == (201, 1)
    assert np.max(np.abs(pred[:, 0] - np.sin(t))) < 0.05
    assert np.mean((pred[:, 0] - np.sin(t)) ** 2) < 1e-4


def test_examples_run_through_the_command_line():
    exe = Path(sys.executable).parent / "tensorlang"
    done = subprocess.run([str(exe), "run", str(EXAMPLES / "xor.tl"), "--epochs", "30"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    epochs = [x for x in lines if x.startswith("epoch ")]
    assert [x.split()[1] for x in epochs] == [f"{i}/30" for i in range(1, 31)]
    assert all("  loss " in x and "  acc " in x and x.endswith("s") for x in epochs)
    assert "evaluate xor on table" in lines
    done = subprocess.run([str(exe), "run", str(EXAMPLES / "logic_gates.tl")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "xor = [[0.]," in done.stdout
