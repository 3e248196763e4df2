"""tools/onnx_nn.py: the loss rules on what the registry's cases do not show: probabilities at
exactly 0 and 1 (clipped to [eps, 1 - eps] as tensorlang clips them) and class-id labels of a
rank-3 batch, in onnxruntime against tensorlang."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import tensorlang as tl  # noqa: E402
from tensorlang.runtime.session import Session  # noqa: E402
from tensorlang.tools import export_onnx  # noqa: E402
from tensorlang.tools.onnx_nn import RULES  # noqa: E402

PROGRAM = """
graph g {
    placeholder p: f32[N, 3]
    placeholder y: f32[N, 3]
    placeholder z: f32[N, 2, 4]
    placeholder ids: i32[N, 2]
    bce = binary_cross_entropy(p, y)
    sce = softmax_cross_entropy(z, ids)
}
"""


def test_the_losses_clip_and_pick_as_tensorlang_does():
    assert {"binary_cross_entropy", "softmax_cross_entropy", "conv2d"} <= RULES.keys()
    graph = tl.compile(PROGRAM).graphs["g"]
    rng = np.random.default_rng(0)
    feed = {"p": np.array([[0, 1, 0.5], [1, 0, 0.25]], np.float32),
            "y": np.array([[0, 1, 1], [0, 1, 0]], np.float32),
            "z": rng.normal(size=(2, 2, 4)).astype(np.float32),
            "ids": np.array([[0, 3], [2, 1]], np.int32)}
    model = export_onnx.inference_model(graph, {}, ["bce", "sce"])
    run = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = run.run(["bce", "sce"], feed)
    want = Session(graph).run(["bce", "sce"], feed)
    for g, w in zip(got, want):
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
