"""runtime/engines/base.py: the interface's defaults and the NumPy engine, which runs a plan
through the session's interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.runtime.engines.base import Engine, NumpyEngine


def test_the_interface_has_to_be_implemented():
    with pytest.raises(NotImplementedError):
        Engine().execute(None, None, {}, [], False)
    a = np.ones(2)
    assert Engine().host(a) is a
    assert Engine().check_batch(7) is None  # one device takes any batch
    assert Engine().first_nonfinite([a, np.zeros(3)]) is None
    assert Engine().first_nonfinite([a, np.array([np.nan])]) == 1


def test_the_numpy_engine_runs_the_sessions_interpreter():
    graph = tl.compile("graph g {\n placeholder x: f64[N]\n y = x * 2\n}\n").graphs["g"]
    s = tl.Session(graph, engine=NumpyEngine())
    plan = s.plan(["y"])
    env, fed = s.bind(plan, {"x": np.arange(3.0)})
    assert env == {"N": 3}
    np.testing.assert_array_equal(s.engine.execute(s, plan, env, fed, False)[0], [0, 2, 4])
