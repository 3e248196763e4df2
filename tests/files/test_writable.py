"""files/writable.py: a run's save/log/plot path is checked before training: the kind's extension,
a regular file of that kind or nothing, never the program's own files, a folder that takes new
files and room on the disk; each refusal is a located WriteError."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

from tensorlang.errors import WriteError
from tensorlang.files import writable
from tensorlang.files.writable import check_writable
from tensorlang.source import Span

AT = Span("prog.tl", 7, 5, "    save = ...")


def refused(path, kind="checkpoint", match=None, **kw) -> WriteError:
    with pytest.raises(WriteError, match=match) as e:
        check_writable(str(path), kind, AT, **kw)
    assert e.value.span is AT
    return e.value


def test_a_new_file_of_the_kind_is_fine_even_in_a_folder_still_to_make(tmp_path):
    for kind, name in (("checkpoint", "m.npz"), ("log", "a/b/log.csv"), ("log", "l.jsonl"),
                       ("plot", "p.PNG"), ("plot", "p.svg"), ("plot", "p.pdf")):
        assert check_writable(str(tmp_path / name), kind, AT) == str(tmp_path / name)
    assert not (tmp_path / "a").exists()  # checking makes nothing


def test_only_the_kinds_extensions(tmp_path):
    e = refused(tmp_path / "model.tl", match=r"a checkpoint is written to a \.npz file")
    assert e.hint.endswith("model.npz")
    refused(tmp_path / "log.txt", "log", match=r"\.csv or \.jsonl")
    refused(tmp_path / "plot.jpg", "plot", match=r"\.png or \.svg or \.pdf")
    refused("", match="non-empty")
    refused(str(tmp_path / "a\0.npz"), match="NUL")


def test_never_over_a_file_of_another_kind(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("my notes, not a checkpoint")
    refused(text, match="exists and is not a checkpoint")
    assert text.read_text() == "my notes, not a checkpoint"
    real = tmp_path / "real.npz"
    np.savez(real, w=np.ones(2))
    check_writable(str(real), "checkpoint", AT)  # an npz: replaced at the save
    png = tmp_path / "p.png"
    png.write_bytes(b"GIF89a...")
    refused(png, "plot", match="not a plot")
    svg = tmp_path / "p.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    check_writable(str(svg), "plot", AT)
    log = tmp_path / "l.csv"
    log.write_text("epoch,loss\n1,0.5\n")
    check_writable(str(log), "log", AT)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x7fELF\0\0,")
    refused(binary, "log", match="not a metrics log")
    empty = tmp_path / "e.npz"
    empty.touch()
    check_writable(str(empty), "checkpoint", AT)  # nothing to lose


def test_never_a_folder_a_fifo_or_a_device(tmp_path):
    folder = tmp_path / "dir.npz"
    folder.mkdir()
    refused(folder, match="it is a folder")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    refused(fifo, "log", match="it is a FIFO")  # and no open(): that would block
    if os.path.exists("/dev/null"):
        os.symlink("/dev/null", tmp_path / "null.npz")
        refused(tmp_path / "null.npz", match="character device")


def test_never_the_programs_own_files(tmp_path):
    data = tmp_path / "train.npz"
    np.savez(data, x=np.ones(3))
    refused(data, match="one of the program's own files", protected=[str(data)])
    os.symlink(data, tmp_path / "alias.npz")
    refused(tmp_path / "alias.npz", protected=[str(data)])


def test_the_folder_must_take_files(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    refused(blocker / "ck.npz", match="is not a folder")
    refused(blocker / "sub" / "ck.npz", match="is not a folder")


def test_room_for_the_known_size(tmp_path, monkeypatch):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(writable.shutil, "disk_usage", lambda p: usage(10 << 20, 9 << 20, 3 << 20))
    check_writable(str(tmp_path / "ck.npz"), "checkpoint", AT, size=1 << 20)
    refused(tmp_path / "ck.npz", match=r"takes about 8\.0 MiB, the disk has 3\.0 MiB free",
            size=8 << 20)


def test_a_missing_folder_is_an_error_unless_the_writer_makes_it(tmp_path):
    from tensorlang.errors import WriteError
    from tensorlang.files.writable import check_writable
    target = str(tmp_path / "new" / "log.csv")
    assert check_writable(target, "log") == target  # the writer may make the folder
    with pytest.raises(WriteError, match='the folder of metrics log ".*log.csv" does not exist'):
        check_writable(target, "log", create_folder=False)
