"""files/atomic.py: a write lands whole or not at all: the target is replaced in one step, a
failure leaves the old file and no temporary behind, and the permission bits are the asked."""

from __future__ import annotations

import os
import stat

import pytest

from tensorlang.files.atomic import TEMP_PREFIX, write_atomic


def leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_bytes_and_a_writer_function(tmp_path):
    target = tmp_path / "out.bin"
    write_atomic(str(target), b"first")
    assert target.read_bytes() == b"first"
    write_atomic(str(target), lambda fh: (fh.write(b"sec"), fh.write(b"ond")))
    assert target.read_bytes() == b"second" and leftovers(tmp_path) == []


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")

    def broken(fh):
        fh.write(b"half of it")
        raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomic(str(target), broken)
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_an_interruption_cleans_up_too(tmp_path):
    target = tmp_path / "x"

    def interrupted(fh):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(target), interrupted)
    assert not target.exists() and leftovers(tmp_path) == []


def test_the_temporary_lives_beside_the_target_until_the_rename(tmp_path):
    target = tmp_path / "t.txt"
    seen = []

    def look(fh):
        seen.extend(leftovers(tmp_path))
        assert not target.exists()  # nothing at the target while it is written
        fh.write(b"x")
    write_atomic(str(target), look)
    assert len(seen) == 1 and seen[0].startswith(f"{TEMP_PREFIX}t.txt.")
    assert leftovers(tmp_path) == []


def test_mode_sets_the_permission_bits(tmp_path):
    private, shared = tmp_path / "a", tmp_path / "b"
    write_atomic(str(private), b"x")
    write_atomic(str(shared), b"x", mode=0o644, fsync=True)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600  # mkstemp's
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o644


def test_a_folder_that_cannot_take_the_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        write_atomic(str(tmp_path / "missing" / "f"), b"x")
    blocker = tmp_path / "dir"
    blocker.mkdir()
    with pytest.raises(OSError):  # a folder where the file should go: the rename fails
        write_atomic(str(blocker), b"x")
    assert blocker.is_dir() and leftovers(tmp_path) == []


def test_a_relative_path_is_written_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_atomic("plain.txt", b"hi")
    assert (tmp_path / "plain.txt").read_bytes() == b"hi"
