"""tools/onnx_ops.py and tools/onnx_nn.py, generated from the op registry: every op with an
ONNX rule, on each of its cases in f32, exported as a one-op model that onnxruntime runs to
tensorlang's values (1e-5)."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from tensorlang.ir.types import np_dtype  # noqa: E402
from tensorlang.ops import REGISTRY  # noqa: E402
from tensorlang.runtime.session import Session  # noqa: E402
from tensorlang.tools import export_onnx  # noqa: E402

from ..opgraph import one_op  # noqa: E402

RULES = export_onnx.RULES
EXPORTABLE = sorted(n for n in RULES if REGISTRY[n].cases is not None)
CASES = None if os.environ.get("TENSORLANG_ALL_CASES") else 3  # onnxruntime sessions cost


def _f32(a):
    return a.astype(np.float32) if a.dtype == np.float64 else a


def _params():
    for name in EXPORTABLE:
        cases = REGISTRY[name].cases(np.random.default_rng(zlib.crc32(name.encode())))
        for i in range(len(cases[:CASES])):
            yield pytest.param(name, i, id=f"{name}-{i}")


def test_most_public_ops_are_exportable():
    public = [n for n, op in REGISTRY.items() if not op.internal]
    assert len([n for n in public if n in RULES]) >= 60


@pytest.mark.parametrize("name,i", list(_params()))
def test_onnxruntime_gives_tensorlangs_values(name, i):
    arrays, attrs = REGISTRY[name].cases(np.random.default_rng(zlib.crc32(name.encode())))[i]
    arrays = [_f32(a) for a in arrays]
    b, phs, node = one_op(name, arrays, attrs)
    graph = b.finish()
    feed = {p.name: a for p, a in zip(phs, arrays)}
    want = Session(graph).run(node, feed)
    model = export_onnx.inference_model(graph, {}, [node.name] if node.name else None)
    run = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = run.run(None, {k: v for k, v in feed.items()
                         if k in {x.name for x in run.get_inputs()}})[0]
    assert got.dtype == np_dtype(node.dtype) and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
