"""files/atomic.py: a write lands whole or not at all: the target is replaced in one step, a
failure leaves the old file and no temporary behind, and the permission bits are the asked."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tensorlang.files.atomic import TEMP_PREFIX, stale_temporaries, temp_prefix, write_atomic

ROOT = Path(__file__).resolve().parents[2]


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
    old = os.umask(0o027)
    try:
        write_atomic(str(private), b"x")
    finally:
        os.umask(old)
    write_atomic(str(shared), b"x", mode=0o600, fsync=True)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o640  # 0666 less the umask, not 0600
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o600


def test_a_new_version_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "ck.npz"
    target.write_bytes(b"old")
    os.chmod(target, 0o604)
    write_atomic(str(target), b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(os.stat(target).st_mode) == 0o604


def dead_pid() -> int:
    """The PID of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_stale_temporary_of_a_killed_run_is_removed(tmp_path):
    target = tmp_path / "ck.npz"
    stale = tmp_path / f"{temp_prefix(str(target))}{dead_pid()}.abc123"
    stale.write_bytes(b"PK half a checkpoint")
    alive = tmp_path / f"{temp_prefix(str(target))}{os.getppid()}.xyz"  # a running writer's
    alive.write_bytes(b"in progress")
    other = tmp_path / ".tmp-other.npz.1.x"  # another target's: not ours to judge here
    other.write_bytes(b"x")
    assert stale_temporaries(str(target)) == [str(stale)]
    write_atomic(str(target), b"new")
    assert not stale.exists() and alive.exists() and other.exists()


SLOW_WRITER = """
import sys, time
from tensorlang.files.atomic import write_atomic
def slow(fh):
    fh.write(b"x" * 1000)
    fh.flush()
    print("writing", flush=True)
    time.sleep(60)
write_atomic(sys.argv[1], slow)
"""


def test_sigterm_during_a_write_leaves_no_temporary(tmp_path):
    target = tmp_path / "ck.npz"
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)],
                             stdout=subprocess.PIPE, cwd=ROOT)
    assert child.stdout.readline() == b"writing\n"
    assert len(leftovers(tmp_path)) == 1  # the temporary, while it is written
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 128 + signal.SIGTERM
    assert leftovers(tmp_path) == [] and not target.exists()


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
