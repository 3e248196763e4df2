"""`evaluate` blocks through `tensorlang run` and the API: reports averaged over the examples
across unequal batches, shown tensors, checkpoints restored with `load`, run-time failures as
located errors, and a fixed-weight classifier over the real MNIST test set."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.runtime import checkpoint
from tensorlang.tools import cli

X = np.array([[1, 2], [0.5, -1], [-2, 0.3], [1.5, 1], [0.2, 0.7], [3, -2], [0, 0]], np.float32)
Y = np.array([1, -0.5, 2, 0.25, -1, 4, 0.125], np.float32)
W = np.array([0.5, -1.5], np.float32)

LIN = """
graph lin {
    placeholder x: f32[N, 2]
    placeholder y: f32[N]
    variable W: f32[2] = [0.5, -1.5]
    variable b: f32[] = 0
    pred = x @ W + b
    loss = mean(square(pred - y))
    c = W * 2
}
data d {
    x = [[1, 2], [0.5, -1], [-2, 0.3], [1.5, 1], [0.2, 0.7], [3, -2], [0, 0]]
    y = [1, -0.5, 2, 0.25, -1, 4, 0.125]
}
evaluate lin {
    data = d
    EXTRA
}
"""


def write(tmp_path, extra: str, text: str = LIN, name: str = "ev.tl"):
    path = tmp_path / name
    path.write_text(text.replace("EXTRA", extra.replace("\n", "\n    ")))
    return path


def run_api(path, **overrides) -> tuple[dict, str]:
    """(the evaluate block's results, the printed text)."""
    out = io.StringIO()
    results = tl.load(str(path), overrides=overrides or None).run(quiet=True, out=out)
    return results[-1], out.getvalue()


def run_cli(path, capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["run", str(path), *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def where(path, text: str) -> str:
    """`FILE:LINE:COL` of the first occurrence of text."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return f"{path}:{i}:{line.index(text) + 1}"
    raise AssertionError(text)


# -- reports and shows --------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [1, 2, 3, 4, 7, 100])
def test_report_over_unequal_batches_is_the_full_batch_mean(tmp_path, batch):
    got, _ = run_api(write(tmp_path, f"batch = {batch}\nreport = [loss]"))
    want = np.mean((X @ W - Y) ** 2)
    assert got["loss"] == pytest.approx(float(want), rel=1e-6)


def test_the_data_tells_weighted_from_unweighted_averaging():
    # batches of 3, 3, 1: averaging the three batch means would give another number
    per = (X @ W - Y) ** 2
    unweighted = np.mean([per[0:3].mean(), per[3:6].mean(), per[6:].mean()])
    assert abs(unweighted - per.mean()) > 0.1


def test_show_prints_per_example_tensors_concatenated_over_batches(tmp_path, capsys):
    path = write(tmp_path, "batch = 3\nreport = [loss]\nshow = [pred, loss, c]")
    code, out, _ = run_cli(path, capsys)
    assert code == 0
    assert out == (
        "evaluate lin on d:  loss 4.3547\n"
        "pred = [-2.5 ,  1.75, -1.45, -0.75, -0.95,  4.5 ,  0.  ]\n"
        "loss = 4.35473\n"
        "c = [ 1., -3.]\n")
    got, _ = run_api(path)
    np.testing.assert_allclose(got["pred"], X @ W, rtol=1e-6)
    # a shown scalar is averaged over the examples like a report, not over the batches
    assert got["loss"] == pytest.approx(float(np.mean((X @ W - Y) ** 2)), rel=1e-6)


def test_show_of_a_large_tensor_is_summarized_and_aligned(tmp_path, capsys):
    text = LIN.replace("    c = W * 2", "    big = ones([N, 30]) * 0.5")
    code, out, _ = run_cli(write(tmp_path, "show = [big]", text), capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[1] == "big = [[0.5, 0.5, 0.5, 0.5, ..., 0.5, 0.5, 0.5, 0.5],"
    assert lines[2] == "       [0.5, 0.5, 0.5, 0.5, ..., 0.5, 0.5, 0.5, 0.5],"
    assert len(lines) == 1 + 7


def test_evaluate_only_program_needs_no_train_block(tmp_path, capsys):
    code, out, _ = run_cli(write(tmp_path, "show = [c]"), capsys)
    assert (code, out) == (0, "evaluate lin on d\nc = [ 1., -3.]\n")


# -- checkpoints --------------------------------------------------------------------------------
def test_load_restores_the_variables(tmp_path):
    w2, b2 = np.array([2.0, 0.25], np.float32), np.array(-1.0, np.float32)
    checkpoint.save(str(tmp_path / "ck" / "lin.npz"), {"W": w2, "b": b2})
    # the checkpoint path is relative to the .tl file
    got, text = run_api(write(tmp_path, 'load = "ck/lin.npz"\nreport = [loss]\nshow = [pred]'))
    np.testing.assert_allclose(got["pred"], X @ w2 + b2, rtol=1e-6)
    assert got["loss"] == pytest.approx(float(np.mean((X @ w2 + b2 - Y) ** 2)), rel=1e-6)


def test_load_reports_every_problem_in_one_located_error(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", W=np.zeros(3, np.float32), extra=np.zeros(1))
    path = write(tmp_path, 'load = "bad.npz"\nshow = [c]')
    code, out, err = run_cli(path, capsys)
    assert code == 1 and out == ""
    assert err.startswith(f'{where(path, "load =")}: error: checkpoint "{tmp_path / "bad.npz"}" '
                          "does not fit the graph: 3 problems")
    assert 'note: "W" has shape [3] in the checkpoint, the graph declares f32[2]' in err
    assert 'note: missing variable "b" (f32[])' in err
    assert 'note: extra array "extra" matches no variable of the graph' in err


@pytest.mark.parametrize("content, message", [(None, "not found"),
                                              (b"PK\x03\x04 cut short", "not a readable")])
def test_missing_or_corrupt_checkpoint_is_located(tmp_path, capsys, content, message):
    if content is not None:
        (tmp_path / "ck.npz").write_bytes(content)
    path = write(tmp_path, 'load = "ck.npz"\nshow = [c]')
    code, _, err = run_cli(path, capsys)
    assert code == 1
    assert err.startswith(f'{where(path, "load =")}: error: checkpoint')
    assert message in err.splitlines()[0]


# -- run-time failures --------------------------------------------------------------------------
FAILING = """
graph g {
    placeholder x: f64[N, 2]
    placeholder y: i32[N]
    variable W: f64[2, 3] = [[1, 0, -1], [0.5, 2, 1]]
    logits = x @ W
    loss = mean(softmax_cross_entropy(logits, y))
    inverse = inv(x[0:2, :])
    logged = mean(log(x))
}
data d {
    x = [[1, 2], [2, 4], [5, 6]]
    y = [0, 1, LABEL]
}
evaluate g {
    data = d
    EXTRA
}
"""


@pytest.mark.parametrize("label, extra, anchor, message", [
    (2, "show = [inverse]", "inv(x", "inv failed at run time: Singular matrix"),
    (7, "report = [loss]", "softmax_cross_entropy(", "softmax_cross_entropy failed at run time: "
     "class id 7 is out of range for 3 classes"),
    (-1, "report = [loss]", "softmax_cross_entropy(", "class id -1 is out of range"),
])
def test_kernel_failures_are_located_errors(tmp_path, capsys, label, extra, anchor, message):
    path = write(tmp_path, extra, FAILING.replace("LABEL", str(label)))
    code, out, err = run_cli(path, capsys)
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"{where(path, anchor)}: error: ")
    assert message in first


def test_check_numerics_flag_in_evaluate(tmp_path, capsys):
    text = FAILING.replace("LABEL", "2").replace("[5, 6]", "[5, -6]")
    path = write(tmp_path, "report = [logged]", text)
    code, out, _ = run_cli(path, capsys)
    assert code == 0 and "logged nan" in out  # log(-6) without the check
    code, _, err = run_cli(path, capsys, "--check-numerics")
    assert code == 1
    assert err.startswith(f'{where(path, "log(x)")}: error: log produced NaN')


# -- real data ----------------------------------------------------------------------------------
MNIST = """
let mnist = "nowhere"
graph m {
    placeholder x: u8[N, 28, 28]
    placeholder y: u8[N]
    variable W: f32[784, 10] = zeros()
    variable b: f32[10] = zeros()
    xf = reshape(cast(x, f32) / 255, [N, 784])
    logits = xf @ W + b
    acc = mean(argmax(logits, axis = 1) == y)
    bright = mean(xf)
    threes = mean(y == 3)
    ink = sum(xf, axis = 1)
}
data test_half {
    x = idx(mnist + "/t10k-images-idx3-ubyte.gz")[5000:]
    y = idx(mnist + "/t10k-labels-idx1-ubyte.gz")[5000:]
}
evaluate m {
    data = test_half
    batch = 1536
    load = "means.npz"
    report = [acc, bright, threes]
    show = [ink]
}
"""


def read_idx(path) -> np.ndarray:
    """MNIST's IDX by hand: a 4-byte magic whose last byte is the rank, big-endian dims, u8."""
    raw = gzip.decompress(path.read_bytes())
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(dims)


def test_nearest_class_mean_classifier_on_mnist(tmp_path, mnist_dir, capsys):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 784) and labels.shape == (10000,)
    # class means from the first half; as a linear map: argmin |x - m|^2 = argmax x.m - |m|^2/2
    means = np.stack([images[:5000][labels[:5000] == c].mean(axis=0) for c in range(10)])
    np.savez(tmp_path / "means.npz", W=means.T.astype(np.float32),
             b=(-0.5 * (means ** 2).sum(axis=1)).astype(np.float32))
    test_x, test_y = images[5000:], labels[5000:]
    logits = test_x.astype(np.float32) @ means.T.astype(np.float32) \
        - 0.5 * (means ** 2).sum(axis=1).astype(np.float32)
    want_acc = np.mean(logits.argmax(axis=1) == test_y)
    assert 0.75 < want_acc < 0.9  # what a nearest-mean classifier gets on MNIST

    path = tmp_path / "mnist.tl"
    path.write_text(MNIST)
    got, _ = run_api(path, mnist=str(mnist_dir))
    assert got["acc"] == pytest.approx(want_acc, abs=1e-4)
    assert got["bright"] == pytest.approx(test_x.mean(), rel=1e-5)
    assert round(got["threes"] * 5000) == np.sum(test_y == 3)  # a count, in f32
    assert got["threes"] == pytest.approx(np.mean(test_y == 3), abs=1e-7)
    assert got["ink"].shape == (5000,)
    np.testing.assert_allclose(got["ink"], test_x.sum(axis=1), rtol=1e-4)

    code, out, _ = run_cli(path, capsys, "--set", f"mnist={mnist_dir}")
    assert code == 0
    assert out.startswith(f"evaluate m on test_half:  acc {want_acc:.4f}  "
                          f"bright {test_x.mean():.4f}  threes {np.mean(test_y == 3):.4f}\n")


def test_shown_tensors_that_are_not_per_example(tmp_path):
    text = LIN.replace("    c = W * 2", "    c = W * 2\n    colmean = mean(x, axis = 0)\n"
                       "    variable k: i32[2] = [4, 5]\n    kk = k + 0")
    got, _ = run_api(write(tmp_path, "batch = 3\nshow = [colmean, c, kk]", text))
    # data-dependent: averaged over the examples (batches of 3, 3, 1 weigh by size)
    np.testing.assert_allclose(got["colmean"], X.mean(axis=0), rtol=1e-6)
    # the same in every batch: shown as is, dtype kept
    np.testing.assert_array_equal(got["c"], W * 2)
    assert got["kk"].dtype == np.int32 and got["kk"].tolist() == [4, 5]


COMBINING = """
graph stats {
    placeholder x: f32[N]
    total  = sum(x)
    top    = max(x)
    spread = std(x)
    mid    = mean(x)
    head   = x[:3]
    steps  = x[1:] - x[:-1]
    share  = softmax(x, axis = 0)
    scaled = x * 2
    flip   = x[::-1]
}
data d {
    x = npy("x.npy")
}
evaluate stats {
    data = d
    report = [total, top, spread, mid]
    show = [head, steps, share, scaled, flip]
    EXTRA
}
"""


@pytest.mark.parametrize("extra", ["", "batch = 7", "batch = 1000"])
def test_values_that_combine_examples_see_the_whole_block(tmp_path, extra):
    # batches of 1024 made sum(x) of 3,000 values 1.48e6 instead of 4.50e6 and steps crash
    x = np.arange(1, 3001, dtype=np.float32) + np.float32(0.25)
    np.save(tmp_path / "x.npy", x)
    result, _ = run_api(write(tmp_path, extra, COMBINING))
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(result["total"], x64.sum(), rtol=1e-6)
    assert result["top"] == x.max() and np.isclose(result["mid"], x64.mean(), rtol=1e-6)
    np.testing.assert_allclose(result["spread"], x64.std(), rtol=1e-5)
    np.testing.assert_array_equal(result["head"], x[:3])
    np.testing.assert_array_equal(result["steps"], np.diff(x))
    e = np.exp(x64 - x64.max())
    np.testing.assert_allclose(result["share"], e / e.sum(), rtol=1e-5, atol=1e-30)
    np.testing.assert_array_equal(result["scaled"], 2 * x)
    np.testing.assert_array_equal(result["flip"], x[::-1])


def test_batch_kinds_follow_the_example_axis():
    from tensorlang.training.evaluate import batch_kinds
    g = tl.compile("""
graph g {
    placeholder x: f32[N, 3]
    variable W: f32[3, 2] = ones()
    h = x @ W
    rows = softmax(h, axis = -1)
    cols = softmax(h, axis = 0)
    gram = x @ x.T
    avg = mean(h)
    per = sum(h, axis = 1)
    tot = sum(h, axis = 0)
    keep = sum(h, axis = 0, keepdims = true)
    back = reshape(x, [N, 3], order = "F")
    loss = mse(h, h * 2)
    w2 = W * 2
    centred = x - mean(x, axis = 0)
    ones = grad(sum(x), x)
    square = eye(N)
    pairs = reshape(x[:, 0], [N, 1]) / x[:, 0]
}
""").graphs["g"]
    names = ["rows", "cols", "gram", "avg", "per", "tot", "keep", "back", "loss", "w2", "centred",
             "ones", "square", "pairs"]
    kinds = batch_kinds(g, names, {g.node("x").type.shape[0]}, {"x"})
    assert kinds == {"rows": "rows", "cols": "whole", "gram": "whole", "avg": "mean",
                     "per": "rows", "tot": "sum", "keep": "whole", "back": "whole",
                     "loss": "mean", "w2": "same", "centred": "whole",
                     # no example in them, but their size is the batch's (found by the fuzzer)
                     "ones": "whole", "square": "whole",
                     "pairs": "whole"}  # [N, 1] / [N] broadcasts to [N, N]: every pair
