"""Checkpoints: plain `.npz` keyed by variable name, written atomically, and checked on load
(every missing, extra or mismatched variable reported in one error)."""

from __future__ import annotations

import os
import stat
import struct
import zipfile

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import CheckpointError
from tensorlang.runtime import checkpoint
from tensorlang.source import Span

SPAN = Span("prog.tl", 7, 5, 7, 30)
G = tl.compile("""
graph g {
    placeholder x: f32[N, 3]
    variable W: f32[3, 2] = glorot_uniform()
    variable b: f32[2] = zeros()
    variable k: i32[] = 0
    y = x @ W + b
}
""").graphs["g"]


def values(seed: int = 0) -> dict[str, np.ndarray]:
    return dict(tl.Session(G, seed=seed).variables)


def test_round_trip_is_plain_numpy(tmp_path):
    path = tmp_path / "ck.npz"
    v = values(1)
    checkpoint.save(str(path), v)
    with np.load(path) as z:  # readable without tensorlang
        assert sorted(z.files) == ["W", "b", "k"]
        np.testing.assert_array_equal(z["W"], v["W"])
    back = checkpoint.load(str(path), G.variables)
    for name in v:
        np.testing.assert_array_equal(back[name], v[name])
        assert back[name].dtype == v[name].dtype


def test_save_makes_missing_folders_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "a" / "b" / "ck.npz"
    checkpoint.save(str(path), values())
    assert os.listdir(path.parent) == ["ck.npz"]


def test_an_interrupted_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    old = values(1)
    checkpoint.save(str(path), old)

    def broken(fh, arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "_write_npz", broken)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(str(path), values(2))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ck.npz"]  # the temporary file is gone
    np.testing.assert_array_equal(checkpoint.load(str(path), G.variables)["W"], old["W"])


def test_unwritable_place_is_a_checkpoint_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CheckpointError, match="cannot write checkpoint") as info:
        checkpoint.save(str(blocker / "ck.npz"), values(), SPAN)
    assert info.value.span == SPAN


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "ck.npz"
    v = values()
    np.savez(path, W=v["W"].T, b=v["b"].astype(np.float64), extra=np.zeros(3))  # k missing
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(str(path), G.variables, SPAN)
    e = info.value
    assert e.span == SPAN
    assert "does not fit the graph: 4 problems" in e.message
    notes = [text for text, _ in e.notes]
    assert notes == [
        '"W" has shape [2, 3] in the checkpoint, the graph declares f32[3, 2]',
        '"b" is float64 in the checkpoint, the graph declares f32[2]',
        'missing variable "k" (i32[])',
        'extra array "extra" matches no variable of the graph',
    ]


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r'checkpoint ".*nope.npz" not found') as info:
        checkpoint.load(str(tmp_path / "nope.npz"), G.variables, SPAN)
    assert info.value.span == SPAN


@pytest.mark.parametrize("payload", [b"", b"garbage, not a zip", b"PK\x03\x04truncated"])
def test_corrupt_checkpoint(tmp_path, payload):
    path = tmp_path / "ck.npz"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError, match="is not a readable .npz file") as info:
        checkpoint.load(str(path), G.variables, SPAN)
    assert info.value.span == SPAN


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "ck.npz"
    checkpoint.save(str(path), values())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="is not a readable .npz file"):
        checkpoint.load(str(path), G.variables, SPAN)


def test_pickled_arrays_are_refused(tmp_path):
    path = tmp_path / "ck.npz"
    v = values()
    np.savez(path, W=v["W"], b=v["b"], k=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="not a readable .npz file"):
        checkpoint.load(str(path), G.variables, SPAN)


def test_a_member_that_is_not_an_array(tmp_path):
    path = tmp_path / "ck.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("W.npy", b"this is not npy data")
    with pytest.raises(CheckpointError, match="not a readable .npz file"):
        checkpoint.load(str(path), G.variables, SPAN)


def test_a_member_with_a_broken_npy_header(tmp_path):
    # np.load's header parser raises tokenize.TokenError here, not a ValueError
    head = b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2"
    head += b" " * (118 - len(head)) + b"\n"
    path = tmp_path / "ck.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("W.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head
                   + bytes(24))
    with pytest.raises(CheckpointError, match="not a readable .npz file") as info:
        checkpoint.load(str(path), G.variables, SPAN)
    assert info.value.span == SPAN


def test_any_variable_name_round_trips(tmp_path):
    # np.savez(file, **arrays) took `file` as its own argument and dropped `allow_pickle`
    path = tmp_path / "ck.npz"
    names = ["file", "allow_pickle", "args", "kwds", "opt/m", "h.W", "__init__"]
    arrays = {n: np.full((2,), i, np.float32) for i, n in enumerate(names)}
    checkpoint.save(str(path), arrays, SPAN, meta={"epoch": 3})
    ck = checkpoint.read(str(path))
    assert sorted(ck.arrays) == sorted(names) and ck.meta["epoch"] == 3
    for i, n in enumerate(names):
        np.testing.assert_array_equal(ck.arrays[n], np.full((2,), i, np.float32))
    with np.load(path) as z:  # still plain NumPy's format
        np.testing.assert_array_equal(z["file"], arrays["file"])


def test_a_new_checkpoint_keeps_the_mode_of_the_old_one(tmp_path):
    path = tmp_path / "ck.npz"
    checkpoint.save(str(path), values())
    os.chmod(path, 0o640)
    checkpoint.save(str(path), values(2))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_never_over_a_file_that_is_not_a_checkpoint(tmp_path):
    program = tmp_path / "model.npz"
    program.write_text("graph g { }\n")
    with pytest.raises(CheckpointError, match="is not a checkpoint") as info:
        checkpoint.save(str(program), values(), SPAN)
    assert info.value.span == SPAN and program.read_text() == "graph g { }\n"
    with pytest.raises(CheckpointError, match=r"written to a \.npz file"):
        checkpoint.save(str(tmp_path / "model.tl"), values(), SPAN)
    with pytest.raises(CheckpointError, match="it is a folder"):
        (tmp_path / "dir.npz").mkdir()
        checkpoint.save(str(tmp_path / "dir.npz"), values(), SPAN)


def test_expected_size_bounds_the_file_written(tmp_path):
    path = tmp_path / "ck.npz"
    checkpoint.save(str(path), values(), meta={"epoch": 1})
    want = checkpoint.expected_size(G.variables)
    assert os.path.getsize(path) <= want <= os.path.getsize(path) + (64 << 10) + 256 * 3
    assert checkpoint.expected_size(G.variables, copies=3) > 2 * want - (64 << 10)
