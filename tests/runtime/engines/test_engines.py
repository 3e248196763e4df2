"""runtime/engines/: engines by name (did-you-mean, the install command for a missing package,
device counts), the NumPy engine as the default, and plain tensorlang never importing jax or
onnx (measured with `python -X importtime`)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import EngineError
from tensorlang.runtime import engines
from tensorlang.tools.cli import main

from ...tools.cli.test_optional_imports import packages

HEAVY = {"jax", "jaxlib", "onnx", "onnxruntime"}


def test_the_numpy_engine_is_the_default():
    program = tl.load("examples/xor.tl")
    s = tl.Session(program.graphs["xor"])
    assert s.engine is engines.NUMPY and engines.get() is engines.NUMPY
    p = s.run("p", {"x": np.zeros((2, 2)), "y": np.zeros((2, 1))})
    assert type(p) is np.ndarray and p.shape == (2, 1)


def test_an_unknown_engine_gets_a_did_you_mean():
    with pytest.raises(EngineError, match='unknown engine "jx"') as e:
        engines.get("jx")
    assert e.value.hint == 'did you mean "jax"?'


def test_impossible_device_counts_are_errors():
    with pytest.raises(EngineError, match="at least 1, not 0"):
        engines.get("jax", devices=0)
    with pytest.raises(EngineError, match="numpy engine runs on one CPU"):
        engines.get("numpy", devices=2)


def test_a_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jax" else real(name, *a))
    with pytest.raises(EngineError, match="not installed") as e:
        engines.get("jax")
    assert "pip install 'tensorlang[jax]'" in e.value.hint


@pytest.mark.parametrize("argv,message", [
    (["--engine", "jx"], 'unknown engine "jx"'),
    (["--engine", "jax", "--devices", "0"], "--devices must be at least 1, not 0"),
    (["--engine", "numpy", "--devices", "2"], "numpy engine runs on one CPU"),
])
def test_the_run_command_reports_engine_mistakes(argv, message, capsys):
    assert main(["run", "examples/xor.tl", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_plain_tensorlang_never_imports_jax_or_onnx():
    assert packages("-m", "tensorlang", "check", "examples/xor.tl") & HEAVY == set()
    assert packages("-c", "import tensorlang") & HEAVY == set()
    assert packages("-m", "tensorlang", "run", "examples/xor.tl", "--epochs", "1",
                    "--quiet") & HEAVY == set()
