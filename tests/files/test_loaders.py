"""The data loaders against independent references: files written here by hand, read back."""

from __future__ import annotations

import gzip
import os
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensorlang.errors import DataError
from tensorlang.files import loaders as data
from tensorlang.files.loaders import (
    check_same_length,
    load_csv,
    load_idx,
    load_npy,
    load_npz,
    resolve_path,
    slice_first_axis,
)
from tensorlang.source import Span

SPAN = Span("prog.tl", 3, 5, 3, 40)

# IDX type codes written out independently of the module's table.
IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()


def idx_bytes(arr: np.ndarray, code: int) -> bytes:
    """An IDX file's bytes, by the format's definition: magic, big-endian dims, payload."""
    head = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(IDX_CODES[code]).tobytes()


def write(path, payload: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def fails(fn, *needles, span=SPAN) -> DataError:
    """fn() raises DataError at span whose message contains every needle."""
    with pytest.raises(DataError) as info:
        fn()
    err = info.value
    assert err.span == span
    for needle in needles:
        assert str(needle) in err.message, (needle, err.message)
    return err


# ---------------------------------------------------------------- paths
def test_resolve_path_relative_absolute_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    base = str(tmp_path / "prog")
    assert resolve_path("d/x.npy", base) == str(tmp_path / "prog" / "d" / "x.npy")
    assert resolve_path("../x.npy", base) == str(tmp_path / "x.npy")
    assert resolve_path("/abs/x.npy", base) == "/abs/x.npy"
    assert resolve_path("~/x.npy", base) == str(tmp_path / "x.npy")


def test_relative_path_is_taken_from_base_dir(tmp_path):
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "x.npy", np.arange(3))
    np.testing.assert_array_equal(load_npy("d/x.npy", SPAN, base_dir=str(tmp_path)), [0, 1, 2])


def test_missing_file_names_written_and_resolved_path_and_hints(tmp_path):
    np.save(tmp_path / "weights.npy", np.zeros(2))
    err = fails(lambda: load_npy("weigths.npy", SPAN, base_dir=str(tmp_path)),
                '"weigths.npy"', str(tmp_path / "weigths.npy"), "not found")
    assert err.hint == 'did you mean "weights.npy"?'
    fails(lambda: load_idx("nodir/x.gz", SPAN, base_dir=str(tmp_path)),
          "nodir/x.gz", str(tmp_path / "nodir"), "does not exist")


def test_directory_instead_of_file(tmp_path):
    for load in (load_npy, load_idx):
        fails(lambda load=load: load(str(tmp_path), SPAN), str(tmp_path), "directory")
    fails(lambda: load_csv(".", span=SPAN, base_dir=str(tmp_path)), "directory")


def test_span_may_be_none(tmp_path):
    with pytest.raises(DataError) as info:
        load_npy(str(tmp_path / "none.npy"))
    assert info.value.span is None and "none.npy" in info.value.message


# ---------------------------------------------------------------- npy / npz
@pytest.mark.parametrize("arr", [np.arange(12, dtype=np.float32).reshape(3, 4),
                                 np.array([1, -2, 3], dtype=np.int64),
                                 np.ones((2, 3, 4), dtype=np.float64),
                                 np.array([True, False])])
def test_npy_roundtrip(tmp_path, arr):
    np.save(tmp_path / "a.npy", arr)
    out = load_npy(str(tmp_path / "a.npy"), SPAN)
    np.testing.assert_array_equal(out, arr)
    assert out.dtype == arr.dtype and not out.flags.writeable


def test_npy_object_array_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    fails(lambda: load_npy(str(tmp_path / "o.npy"), SPAN), "o.npy", "pickle")


def test_npy_truncated_or_not_npy(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(1000, dtype=np.float64))
    raw = (tmp_path / "a.npy").read_bytes()
    write(tmp_path / "t.npy", raw[:-100])
    fails(lambda: load_npy(str(tmp_path / "t.npy"), SPAN), "t.npy")
    write(tmp_path / "h.npy", raw[:20])
    fails(lambda: load_npy(str(tmp_path / "h.npy"), SPAN), "h.npy")
    write(tmp_path / "g.npy", b"hello, world")
    fails(lambda: load_npy(str(tmp_path / "g.npy"), SPAN), "g.npy", "not an .npy file")
    np.savez(tmp_path / "z.npz", a=np.zeros(2))
    fails(lambda: load_npy(str(tmp_path / "z.npz"), SPAN), "z.npz", "npz(path, key)")


def test_npz_keys(tmp_path):
    x, y = np.random.default_rng(0).normal(size=(5, 2)), np.arange(5)
    np.savez_compressed(tmp_path / "d.npz", images=x, labels=y)
    np.testing.assert_array_equal(load_npz(str(tmp_path / "d.npz"), "images", SPAN), x)
    np.testing.assert_array_equal(load_npz(str(tmp_path / "d.npz"), "labels", SPAN), y)
    err = fails(lambda: load_npz(str(tmp_path / "d.npz"), "label", SPAN),
                "d.npz", '"label"', '"images"', '"labels"', 'did you mean "labels"?')
    assert "keys present" in err.message


def test_npz_corrupt_or_not_zip_or_objects(tmp_path):
    np.savez(tmp_path / "d.npz", a=np.arange(100))
    write(tmp_path / "cut.npz", (tmp_path / "d.npz").read_bytes()[:60])
    fails(lambda: load_npz(str(tmp_path / "cut.npz"), "a", SPAN), "cut.npz")
    np.save(tmp_path / "a.npy", np.zeros(3))
    fails(lambda: load_npz(str(tmp_path / "a.npy"), "a", SPAN), "a.npy", "not an .npz")
    np.savez(tmp_path / "o.npz", o=np.array([None, 1], dtype=object))
    fails(lambda: load_npz(str(tmp_path / "o.npz"), "o", SPAN), "o.npz", "pickle")
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as z:  # a zip whose member is not npy
        z.writestr("a.npy", b"garbage")
    fails(lambda: load_npz(str(tmp_path / "bad.npz"), "a", SPAN), "bad.npz")
    fails(lambda: load_npz(str(tmp_path / "d.npz"), 3, SPAN), "key must be a string")


# ---------------------------------------------------------------- csv
CSV = "a,b,c,d\n1,2,3,4\n5.5, 6 ,-7,8e2\n\n9,10,11,12\n"


def csv_reference(text: str, **kw) -> np.ndarray:
    return np.loadtxt(text.splitlines(), delimiter=",", skiprows=1, dtype=np.float32, **kw)


def test_csv_columns(tmp_path):
    p = str(write(tmp_path / "t.csv", CSV.encode()))
    full = load_csv(p, skip_header=True, span=SPAN)
    np.testing.assert_array_equal(full, csv_reference(CSV))
    assert full.dtype == np.float32 and full.shape == (3, 4)
    two = load_csv(p, columns=[0, 1], skip_header=True, span=SPAN)
    np.testing.assert_array_equal(two, csv_reference(CSV, usecols=[0, 1]))
    assert two.shape == (3, 2)
    one = load_csv(p, columns=3, skip_header=True, span=SPAN)
    np.testing.assert_array_equal(one, csv_reference(CSV, usecols=3))
    assert one.shape == (3,)
    np.testing.assert_array_equal(load_csv(p, columns=-1, skip_header=True), one)
    np.testing.assert_array_equal(load_csv(p, columns=[3], skip_header=True), one[:, None])


def test_csv_gzipped_and_bom(tmp_path):
    p = write(tmp_path / "t.dat", ("\ufeff" + CSV).encode(), gz=True)
    np.testing.assert_array_equal(load_csv(str(p), skip_header=True), csv_reference(CSV))


def test_csv_wrong_width_names_line_and_both_widths(tmp_path):
    p = write(tmp_path / "w.csv", b"1,2,3\n4,5,6\n\n7,8\n")
    fails(lambda: load_csv(str(p), span=SPAN), "w.csv", "line 4", "2 columns", "has 3",
          "line 1")


def test_csv_non_numeric_cell(tmp_path):
    p = write(tmp_path / "n.csv", b"1,2\n3,abc\n")
    fails(lambda: load_csv(str(p), span=SPAN), "n.csv", "line 2", "column 1", '"abc"')
    p = write(tmp_path / "e.csv", b"1,2\n3,\n")
    fails(lambda: load_csv(str(p), span=SPAN), "line 2", "column 1", '""')
    p = write(tmp_path / "h.csv", b"x,y\n1,2\n")
    err = fails(lambda: load_csv(str(p), span=SPAN), "line 1", '"x"')
    assert "skip_header = true" in err.message


def test_csv_other_errors(tmp_path):
    p = str(write(tmp_path / "c.csv", b"1,2\n3,4\n"))
    fails(lambda: load_csv(p, columns=[0, 2], span=SPAN), "c.csv", "no column 2", "2 columns")
    fails(lambda: load_csv(p, columns=-3, span=SPAN), "no column -3")
    for bad in ([], "0", [0.5], True):
        fails(lambda bad=bad: load_csv(p, columns=bad, span=SPAN), "columns must be")
    fails(lambda: load_csv(str(write(tmp_path / "e.csv", b"\n\n")), span=SPAN), "no data rows")
    fails(lambda: load_csv(str(write(tmp_path / "h.csv", b"a,b\n")), skip_header=True,
                           span=SPAN), "no data rows after the header")
    fails(lambda: load_csv(str(write(tmp_path / "b.csv", b"\xff\xfe1,2")), span=SPAN), "b.csv")


# ---------------------------------------------------------------- idx
@pytest.mark.parametrize("code", sorted(IDX_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip_every_type(tmp_path, code, gz):
    rng = np.random.default_rng(code)
    ref = (rng.normal(size=(4, 3, 2)) * 50).astype(np.dtype(IDX_CODES[code]).newbyteorder("="))
    # the name says nothing about compression: detection goes by the magic bytes
    p = write(tmp_path / ("x.gz" if not gz else "x.idx"), idx_bytes(ref, code), gz)
    out = load_idx(str(p), SPAN)
    np.testing.assert_array_equal(out, ref)
    assert out.dtype == ref.dtype and out.dtype.isnative and not out.flags.writeable


def test_idx_one_dimensional_labels(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    out = load_idx(str(write(tmp_path / "l", idx_bytes(labels, 0x08), gz=True)), SPAN)
    np.testing.assert_array_equal(out, labels)
    assert out.dtype == np.uint8


@pytest.mark.parametrize("gz", [False, True])
def test_idx_header_and_size_errors(tmp_path, gz):
    good = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)
    cases = {
        "cut.idx": (good[:-1], ["truncated", "u8[2, 3, 4]", "24 bytes", "has 23"]),
        "extra.idx": (good + b"\0\0", ["2 bytes of trailing data", "has 26"]),
        "magic.idx": (b"\x01\x00" + good[2:], ["bad magic", "0x01000803"]),
        "type.idx": (good[:2] + b"\x0a" + good[3:], ["bad magic", "0x00000a03"]),
        "ndim0.idx": (struct.pack(">HBB", 0, 8, 0), ["0 dimensions"]),
        "head.idx": (good[:9], ["truncated IDX header", "16 bytes"]),
        "short.idx": (b"\0\0", ["too short"]),
        "empty.idx": (b"", ["too short"]),
    }
    for name, (payload, needles) in cases.items():
        p = write(tmp_path / name, payload, gz)
        fails(lambda p=p: load_idx(str(p), SPAN), name, *needles)


def test_idx_corrupt_gzip(tmp_path):
    gz = gzip.compress(idx_bytes(np.arange(5000, dtype=np.int32), 0x0C))
    p = write(tmp_path / "cut.gz", gz[: len(gz) // 2])
    fails(lambda: load_idx(str(p), SPAN), "cut.gz", "corrupt gzip")
    flipped = bytearray(gz)
    flipped[-6] ^= 0xFF  # inside the CRC-32 trailer
    p = write(tmp_path / "crc.gz", bytes(flipped))
    fails(lambda: load_idx(str(p), SPAN), "crc.gz", "corrupt gzip")
    p = write(tmp_path / "junk.gz", b"\x1f\x8bnot really gzip at all")
    fails(lambda: load_idx(str(p), SPAN), "junk.gz", "corrupt gzip")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 200), pos=st.integers(0, 199), byte=st.integers(0, 255),
       kind=st.sampled_from(["idx", "idx.gz", "npy"]))
def test_damaged_files_give_data_error_or_an_array(tmp_path, cut, pos, byte, kind):
    ref = np.arange(40, dtype=np.int16).reshape(10, 4)
    if kind == "npy":
        path = tmp_path / "f.npy"
        np.save(path, ref)
        raw = path.read_bytes()
    else:
        raw = idx_bytes(ref, 0x0B)
        raw = gzip.compress(raw) if kind == "idx.gz" else raw
    raw = bytearray(raw[: max(len(raw) - cut, 0)])
    if raw:
        raw[pos % len(raw)] = byte
    path = write(tmp_path / f"damaged.{kind}", bytes(raw))
    data.clear_cache()
    try:
        out = (load_npy if kind == "npy" else load_idx)(str(path), SPAN)
    except DataError as e:
        assert e.span == SPAN and "damaged" in e.message
    else:
        assert isinstance(out, np.ndarray)


# ---------------------------------------------------------------- cache
def test_cache_shares_one_read_only_array(tmp_path):
    p = str(write(tmp_path / "x.idx", idx_bytes(np.arange(6, dtype=np.uint8), 0x08)))
    a, b = load_idx(p, SPAN), load_idx(os.path.relpath(p), SPAN)
    assert a is b
    with pytest.raises(ValueError):
        a[0] = 1
    write(tmp_path / "x.idx", idx_bytes(np.arange(7, dtype=np.uint8), 0x08))
    assert len(load_idx(p, SPAN)) == 7  # a changed file is read again


def test_cache_keys_include_arguments(tmp_path):
    p = str(write(tmp_path / "c.csv", b"1,2\n3,4\n"))
    np.testing.assert_array_equal(load_csv(p, columns=0), [1, 3])
    np.testing.assert_array_equal(load_csv(p, columns=1), [2, 4])


def test_cache_evicts_least_recently_used():
    cache = data._Cache(max_entries=2, max_bytes=100)
    a, b, c = np.zeros(2), np.zeros(2), np.zeros(2)
    cache.put(("a",), a)
    cache.put(("b",), b)
    assert cache.get(("a",)) is a
    cache.put(("c",), c)
    assert cache.get(("b",)) is None and cache.get(("a",)) is a and cache.get(("c",)) is c
    cache.put(("big",), np.zeros(50))  # 400 bytes: alone over the budget, but kept
    assert list(cache.items) == [("big",)]


# ---------------------------------------------------------------- slicing and lengths
@pytest.mark.parametrize("bounds", [(None, 8, None), (2, None, None), (-3, None, None),
                                    (None, -2, None), (1, 9, 3), (None, None, -1),
                                    (8, 2, -2), (-100, 100, None), (None, None, None)])
def test_slice_first_axis_is_python_slicing(bounds):
    arr = np.arange(20).reshape(10, 2)
    expected = np.array([list(r) for r in arr.tolist()[slice(*bounds)]])
    np.testing.assert_array_equal(slice_first_axis(arr, *bounds, SPAN), expected)


def test_slice_errors():
    arr = np.arange(10)
    fails(lambda: slice_first_axis(arr, 5, 5, None, SPAN, source="x.idx"), "x.idx", "[5:5]",
          "10 examples", "empty")
    fails(lambda: slice_first_axis(arr, 20, None, None, SPAN), "[20:]", "empty")
    fails(lambda: slice_first_axis(arr, 0, 5, -1, SPAN), "[0:5:-1]", "empty")
    fails(lambda: slice_first_axis(arr, None, None, 0, SPAN), "step cannot be zero")
    fails(lambda: slice_first_axis(arr, 1.5, None, None, SPAN), "integers")
    fails(lambda: slice_first_axis(np.float32(3), None, 2, None, SPAN), "scalar")


def test_check_same_length():
    s1, s2, s3 = Span("p.tl", 4, 5), Span("p.tl", 5, 5), Span("p.tl", 6, 5)
    ok = {"x": (np.zeros((8, 2)), s1), "y": (np.zeros(8), s2)}
    assert check_same_length(ok, "train_set", SPAN) == 8
    bad = {"x": (np.zeros((8, 2)), s1), "y": (np.zeros(7), s2), "w": (np.zeros(8), s3)}
    err = fails(lambda: check_same_length(bad, "train_set", SPAN), '"train_set"',
                "x has 8", "y has 7", "w has 8")
    assert [span for _, span in err.notes] == [s1, s2, s3]
    fails(lambda: check_same_length({"x": (np.float32(1), s1)}, "b", SPAN), "scalar", span=s1)
    fails(lambda: check_same_length({"x": (np.zeros((0, 3)), s1)}, "b", SPAN), "no examples")
    fails(lambda: check_same_length({}, "b", SPAN), "no fields")


# ---------------------------------------------------------------- the real MNIST files
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("split,n,counts", [("train", 60000, TRAIN_COUNTS),
                                            ("t10k", 10000, T10K_COUNTS)])
def test_mnist(mnist_dir, split, n, counts):
    images = load_idx(f"{split}-images-idx3-ubyte.gz", SPAN, base_dir=str(mnist_dir))
    labels = load_idx(f"{split}-labels-idx1-ubyte.gz", SPAN, base_dir=str(mnist_dir))
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    assert np.bincount(labels, minlength=10).tolist() == counts
    fields = {"x": (slice_first_axis(images, None, 8000, None, SPAN), SPAN),
              "y": (slice_first_axis(labels, None, 8000, None, SPAN), SPAN)}
    assert check_same_length(fields, "mnist", SPAN) == 8000


# ------------------------------------------------------------ reading safely: issue 16
def test_special_files_are_refused_without_opening_them(tmp_path):
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)  # opening it would block until a writer came
    with pytest.raises(DataError, match="is a FIFO, not a regular file"):
        load_npy(str(fifo), SPAN)
    if os.path.exists("/dev/zero"):  # reading it would never end
        with pytest.raises(DataError, match="is a character device, not a regular file"):
            load_idx("/dev/zero", SPAN)
    with pytest.raises(DataError, match="without NUL"):
        load_csv("a\0b.csv", span=SPAN)


def test_a_gzip_bomb_stops_at_the_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLANG_MEMORY_BUDGET", "1M")
    bomb = write(tmp_path / "bomb.csv", b"1,2\n" * (1 << 20), gz=True)  # 4 MiB of text
    assert bomb.stat().st_size < 64 << 10
    with pytest.raises(DataError, match=r"more than 1\.0 MiB of data \(decompressed\)"):
        load_csv(str(bomb), span=SPAN)


def test_an_idx_header_beyond_the_budget_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLANG_MEMORY_BUDGET", "1M")
    head = struct.pack(">HBB", 0, 0x0D, 2) + struct.pack(">2I", 100000, 100000)
    path = write(tmp_path / "big.idx.gz", head + b"\0" * 1000, gz=True)
    with pytest.raises(DataError, match=r"f32\[100000, 100000\] promises 40000000000 bytes of "
                                        r"data: 37\.3 GiB, more than the memory budget"):
        load_idx(str(path), SPAN)
    # within the budget, the header is still held to what the file has
    small = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08)
    assert load_idx(str(write(tmp_path / "ok.idx.gz", small, gz=True))).tolist() == \
        [[0, 1, 2], [3, 4, 5]]
    monkeypatch.delenv("TENSORLANG_MEMORY_BUDGET")
    with pytest.raises(DataError, match="at least 1048576 bytes of trailing data"):
        load_idx(str(write(tmp_path / "t.idx", small + b"\0" * (2 << 20))), SPAN)


def npy_header(shape, dtype="<f4") -> bytes:
    """An .npy version 1.0 header declaring shape, written by the format's definition."""
    text = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def test_npy_and_npz_headers_are_checked_before_allocating(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLANG_MEMORY_BUDGET", "1M")
    huge = write(tmp_path / "huge.npy", npy_header((10 ** 6, 10 ** 6)) + b"\0" * 64)
    with pytest.raises(DataError, match=r"declares float32\[1000000, 1000000\] \(3\.6 TiB\), "
                                        r"the file holds 64 bytes"):
        load_npy(str(huge), SPAN)
    big = write(tmp_path / "big.npy", npy_header((1 << 19,)) + b"\0" * (2 << 20))
    with pytest.raises(DataError, match=r"2\.0 MiB, more than the memory budget of 1\.0 MiB"):
        load_npy(str(big), SPAN)
    archive = tmp_path / "a.npz"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x.npy", npy_header((10 ** 6, 10 ** 6)) + b"\0" * 64)
    with pytest.raises(DataError, match=r'array "x": truncated \.npy data: its header declares'):
        load_npz(str(archive), "x", SPAN)


def test_messages_quote_a_short_escaped_excerpt_of_a_file(tmp_path):
    line = b"root:x:0:0:root:/root:/bin/bash\x1b[2J" * 3 + b"\n"
    passwd = write(tmp_path / "passwd.csv", line)
    with pytest.raises(DataError) as e:
        load_csv(str(passwd), span=SPAN)
    message = e.value.message
    assert "\x1b" not in message  # the escape character itself never reaches the terminal
    assert 'column 0 (0-based): "root:x:0:0:root:/root:/bin/bash\\x1b[2Jro..." is not a ' \
        "number" in message  # 40 characters of it, escaped, then ...
