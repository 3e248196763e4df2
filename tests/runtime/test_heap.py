"""heap.py: a plan run again keeps what its run frees, so its next runs fault in no new pages.
The allocator's settings are process-wide, so each check runs in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.runtime import heap, prepared

GLIBC = heap._glibc() is not None

# Every run allocates and frees a few 1 MB arrays (~1,000 pages). Each process first sets glibc's
# starting thresholds (128 KB) explicitly: an explicit setting also stops glibc's own raising,
# which for blocks of about its threshold's size depends on the padding NumPy adds (one CI machine
# kept every page without keep(), another gave them back). So without keep() every run's 1 MB
# arrays are mapped afresh, and keep() must raise the thresholds over any earlier setting.
RUNS = """
import json, resource, sys
import numpy as np
import tensorlang as tl
from tensorlang.runtime import heap
lib = heap._glibc()
lib.mallopt(heap.M_MMAP_THRESHOLD, heap.SMALL)
lib.mallopt(heap.M_TRIM_THRESHOLD, heap.SMALL)
if sys.argv[1] == "off":
    heap.keep = lambda peak: False
g = tl.compile('''graph g {
    placeholder x: f32[N, 256]
    variable W: f32[256, 256] = glorot_uniform()
    h1 = tanh(x @ W)
    h2 = tanh(h1 @ W) * h1
    h3 = tanh(h2 @ W) + h2 * h1
    loss = mean(h3 * h2 + h1)
}''').graphs["g"]
sess = tl.Session(g, seed=0)
x = np.random.default_rng(0).normal(size=(1024, 256)).astype(np.float32)
counts = []
for run in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    sess.run("loss", {"x": x})
    counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"faults": counts, "kept": heap.kept()}))
"""


def _runs(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", RUNS, mode], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="the allocator's thresholds are glibc's")
def test_a_plan_run_again_faults_in_no_new_pages():
    got = _runs("on")
    assert got["kept"] == 2 * heap.MMAP_MAX  # the run's peak (a few MB) is below glibc's own end
    # the first run faults its arrays in (~1,400 pages); from the third on they are reused
    assert got["faults"][0] > 500
    assert max(got["faults"][3:]) < 100, got["faults"]


@pytest.mark.skipif(not GLIBC, reason="the allocator's thresholds are glibc's")
def test_without_keep_the_pages_are_faulted_in_again():
    faults = _runs("off")["faults"][3:]
    assert min(faults) > 500, faults


def test_keep_raises_the_thresholds_only(monkeypatch):
    calls = []

    class Lib:
        def mallopt(self, what, value):
            calls.append((what, value))
            return 1

    monkeypatch.setattr(heap, "_libc", [Lib()])
    monkeypatch.setattr(heap, "_kept", {"trim": 0})
    assert not heap.keep(heap.SMALL - 1)  # a small run is left alone
    assert heap.keep(1 << 20)
    assert calls == [(heap.M_MMAP_THRESHOLD, heap.MMAP_MAX),
                     (heap.M_TRIM_THRESHOLD, 2 * heap.MMAP_MAX)]
    assert not heap.keep(4 << 20)  # glibc's own end covers it: nothing to raise
    assert heap.keep(100 << 20) and calls[-1] == (heap.M_TRIM_THRESHOLD, 200 << 20)
    assert not heap.keep(60 << 20)  # never lowered
    assert heap.kept() == 200 << 20
    assert heap.keep(2 << 30) and calls[-1] == (heap.M_TRIM_THRESHOLD, 2**31 - 1)  # an int


def test_keep_does_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_libc", [None])
    monkeypatch.setattr(heap, "_kept", {"trim": 0})
    assert not heap.keep(100 << 20) and heap.kept() == 0


def test_a_refused_setting_is_not_counted_as_kept(monkeypatch):
    class Lib:
        def mallopt(self, what, value):
            return 0

    monkeypatch.setattr(heap, "_libc", [Lib()])
    monkeypatch.setattr(heap, "_kept", {"trim": 0})
    assert not heap.keep(100 << 20) and heap.kept() == 0


def test_a_prepared_call_keeps_once_per_binding(monkeypatch):
    """make_callable's call asks keep_for once for each new binding of the dims, not on every
    call whose feed is cast (those are checked in full every time)."""
    asked = []
    monkeypatch.setattr(prepared.heap, "keep_for", lambda plan, env: asked.append(dict(env)))
    g = tl.compile("graph g {\n placeholder x: f32[N, 3]\n y = x * 2.0\n}").graphs["g"]
    call = tl.Session(g, seed=0).make_callable("y")
    for n in (2, 2, 2, 5, 5):
        got = call(np.ones((n, 3)))  # f64: cast to f32 every call
        np.testing.assert_array_equal(got, np.full((n, 3), 2.0, np.float32))
    assert asked == [{"N": 2}, {"N": 5}]
