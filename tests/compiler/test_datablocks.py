"""Data blocks through `tensorlang run` and the API: literals and the npy/npz/csv/idx loaders,
first-axis slices, paths relative to the .tl file, and located errors for bad data."""

from __future__ import annotations

import gzip
import io
import struct

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import DataError
from tensorlang.files import loaders as data
from tensorlang.tools import cli


@pytest.fixture(autouse=True)
def _fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file by the format's definition: zero, type code, rank, big-endian dims, data."""
    dtype = {0x08: ">u1", 0x0D: ">f4"}[code]
    head = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(dtype).tobytes()


GRAPH = """
graph g {
    placeholder x: f32[N, 2]
    placeholder y: i32[N]
    sx = sum(x, axis = 1)
    total = sum(x)
    yy = y * 1
}
"""
XS = np.array([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]], np.float32)
YS = np.array([3, 1, 4, 1, 5, 9], np.int32)


def program(tmp_path, block: str, evaluate: str = "show = [sx, yy]", name: str = "prog.tl"):
    """Write GRAPH, a data block `d` and an evaluate block; return the file's path."""
    path = tmp_path / name
    path.write_text(GRAPH + f"data d {{\n{block}\n}}\nevaluate g {{\n    data = d\n"
                    f"    {evaluate}\n}}\n")
    return path


def shown(path, **overrides) -> dict:
    """The results of the program's evaluate block, run through the API."""
    prog = tl.load(str(path), overrides=overrides or None)
    return prog.run(quiet=True, out=io.StringIO())[0]


def cli_error(path, capsys, *args) -> str:
    """Run `tensorlang run PATH`; it must fail with exit status 1 and no traceback."""
    assert cli.main(["run", str(path), *args]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def line_col(path, text: str) -> str:
    """`FILE:LINE:COL` of the first occurrence of text in the file."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return f"{path}:{i}:{line.index(text) + 1}"
    raise AssertionError(text)


def write_sources(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    np.save(folder / "x.npy", XS.astype(np.float64))
    np.savez(folder / "both.npz", feats=XS, labels=YS.astype(np.int64))
    (folder / "table.csv").write_text(
        "a,b,label\n" + "".join(f"{a:g}, {b:g},{c}\n" for (a, b), c in zip(XS, YS)))
    (folder / "x.idx.gz").write_bytes(gzip.compress(idx_bytes(XS, 0x0D)))
    (folder / "y.idx").write_bytes(idx_bytes(YS))
    return folder


# -- loaders ------------------------------------------------------------------------------------
def test_literals(tmp_path):
    got = shown(program(tmp_path, "x = [[1, 2], [3, 4.5]]\ny = [7, 8]"))
    np.testing.assert_allclose(got["sx"], [3, 7.5])
    np.testing.assert_array_equal(got["yy"], [7, 8])
    assert got["yy"].dtype == np.int32  # int literals feed an i32 placeholder


@pytest.mark.parametrize("x, y", [
    ('npy("files/x.npy")', 'npz("files/both.npz", "labels")'),
    ('npz("files/both.npz", key = "feats")', 'idx("files/y.idx")'),
    ('csv("files/table.csv", columns = [0, 1], skip_header = true)', 'idx("files/y.idx")'),
    ('idx("files/x.idx.gz")', 'npz("files/both.npz", "labels")'),
])
def test_loaders(tmp_path, x, y):
    write_sources(tmp_path)
    got = shown(program(tmp_path, f"x = {x}\ny = {y}"))
    np.testing.assert_allclose(got["sx"], XS.sum(axis=1))
    np.testing.assert_array_equal(got["yy"], YS)


def test_csv_single_column_feeds_a_rank_1_placeholder(tmp_path):
    write_sources(tmp_path)
    path = tmp_path / "p.tl"
    path.write_text("""
graph g {
    placeholder a: f32[N]
    s = a * 2
}
data d {
    a = csv("files/table.csv", columns = -1, skip_header = true)
}
evaluate g {
    data = d
    show = [s]
}
""")
    np.testing.assert_allclose(shown(path)["s"], YS * 2)


@pytest.mark.parametrize("sl, want", [("[:4]", slice(None, 4)), ("[2:]", slice(2, None)),
                                      ("[1:5:2]", slice(1, 5, 2)), ("[-3:]", slice(-3, None)),
                                      ("[k:k + 2]", slice(2, 4))])
def test_first_axis_slices(tmp_path, sl, want):
    write_sources(tmp_path)
    text = f'x = npy("files/x.npy"){sl}\ny = idx("files/y.idx"){sl}'
    path = program(tmp_path, text)
    path.write_text("let k = 2\n" + path.read_text())
    got = shown(path)
    np.testing.assert_allclose(got["sx"], XS[want].sum(axis=1))
    np.testing.assert_array_equal(got["yy"], YS[want])


def test_paths_are_relative_to_the_tl_file_not_the_cwd(tmp_path, monkeypatch, capsys):
    write_sources(tmp_path)
    path = program(tmp_path, 'x = npy("files/x.npy")\ny = idx("files/y.idx")')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli.main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sx = [ 3.,  7., 11., 15., 19., 23.]" in out
    monkeypatch.chdir(tmp_path.parent)
    assert cli.main(["run", f"{tmp_path.name}/prog.tl"]) == 0  # a relative .tl path too


def test_let_path_overridden_from_the_command_line(tmp_path, capsys):
    folder = write_sources(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "x.npy", XS * 10)
    path = program(tmp_path, 'x = npy(dir + "/x.npy")\ny = idx("files/y.idx")',
                   evaluate="report = [total]")
    path.write_text(f'let dir = "{folder}"\n' + path.read_text())
    assert cli.main(["run", str(path)]) == 0
    assert f"total {XS.sum():.4f}" in capsys.readouterr().out
    assert cli.main(["run", str(path), "--set", f"dir={other}"]) == 0
    assert f"total {XS.sum() * 10:.4f}" in capsys.readouterr().out


# -- located errors for bad data ----------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path, capsys):
    write_sources(tmp_path)
    path = program(tmp_path, 'x = npy("files/nope.npy")\ny = idx("files/y.idx")')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "npy(")}: error: npy file "files/nope.npy" '
                          f"(resolved to {tmp_path / 'files' / 'nope.npy'}) not found")


def test_truncated_idx(tmp_path, capsys):
    write_sources(tmp_path)
    (tmp_path / "files" / "y.idx").write_bytes(idx_bytes(YS)[:-2])
    path = program(tmp_path, 'x = npy("files/x.npy")\ny = idx("files/y.idx")')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "idx(")}: error: idx file "files/y.idx": truncated '
                          "IDX data: the header u8[6] promises 6 bytes of data, the file has 4")


def test_truncated_gzipped_idx(tmp_path, capsys):
    write_sources(tmp_path)
    gz = tmp_path / "files" / "x.idx.gz"
    gz.write_bytes(gz.read_bytes()[:-12])
    path = program(tmp_path, 'x = idx("files/x.idx.gz")\ny = idx("files/y.idx")')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "idx(")}: error: idx file "files/x.idx.gz": '
                          "corrupt gzip")


def test_truncated_npy(tmp_path, capsys):
    write_sources(tmp_path)
    npy = tmp_path / "files" / "x.npy"
    npy.write_bytes(npy.read_bytes()[:-5])
    path = program(tmp_path, 'x = npy("files/x.npy")\ny = idx("files/y.idx")')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "npy(")}: error: npy file "files/x.npy": truncated '
                          ".npy data: its header declares float64[6, 2] (96 bytes), the file "
                          "holds 91 bytes")


def test_pickled_npy_is_refused(tmp_path, capsys):
    write_sources(tmp_path)
    np.save(tmp_path / "files" / "obj.npy", np.array([{"a": 1}] * 6, dtype=object),
            allow_pickle=True)
    path = program(tmp_path, 'x = npy("files/obj.npy")\ny = idx("files/y.idx")')
    err = cli_error(path, capsys)
    assert f"{line_col(path, 'npy(')}: error:" in err and "pickle" in err


def test_csv_row_of_the_wrong_width(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("1,2\n3,4\n5\n")
    path = program(tmp_path, 'x = csv("t.csv")\ny = [1, 2, 3]')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "csv(")}: error: csv file "t.csv": line 3 has '
                          "1 column, but the first row (line 1) has 2")


def test_fields_of_different_lengths(tmp_path, capsys):
    write_sources(tmp_path)
    path = program(tmp_path, 'x = npy("files/x.npy")[:4]\ny = idx("files/y.idx")')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "data d")}: error: data block "d": fields differ in '
                          "length (their first dimension): x has 4, y has 6")
    assert f'{line_col(path, "x = npy")}: note: "x" has 4 examples' in err
    assert f'{line_col(path, "y = idx")}: note: "y" has 6 examples' in err


def test_float_csv_into_an_int_placeholder_points_at_the_field(tmp_path, capsys):
    write_sources(tmp_path)
    path = program(tmp_path, 'x = npy("files/x.npy")\n'
                   'y = csv("files/table.csv", columns = 2, skip_header = true)')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "y = csv")}: error: data field "y": float32 values '
                          "do not fit i32[N] without loss")
    assert f'{line_col(path, "placeholder y")}: note: placeholder "y" is declared i32[N]' in err


def test_field_of_the_wrong_shape_points_at_the_field(tmp_path, capsys):
    path = program(tmp_path, "x = [[1, 2, 3]]\ny = [1]")
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "x = [[")}: error: data field "x": expected '
                          "f32[N, 2], got shape [1, 3]: dim 1 is 3, not 2")


def test_ragged_literal(tmp_path, capsys):
    path = program(tmp_path, "x = [[1, 2], [3]]\ny = [1, 2]")
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "[[1, 2], [3]]")}: error: field "x" must be a '
                          "rectangular list of numbers")


def test_unknown_loader_is_a_compile_error(tmp_path, capsys):
    path = program(tmp_path, 'x = npz2("a.npz", "k")\ny = [1]')
    err = cli_error(path, capsys)
    assert err.startswith(f'{line_col(path, "npz2")}: error: unknown loader "npz2"')
    assert 'did you mean "npz"?' in err


def test_missing_npz_key_lists_the_keys(tmp_path, capsys):
    write_sources(tmp_path)
    path = program(tmp_path, 'x = npz("files/both.npz", "feat")\ny = idx("files/y.idx")')
    err = cli_error(path, capsys)
    assert f"{line_col(path, 'npz(')}: error:" in err
    assert 'has no array "feat"; keys present: "feats", "labels"' in err


def test_empty_slice(tmp_path, capsys):
    write_sources(tmp_path)
    path = program(tmp_path, 'x = npy("files/x.npy")[10:]\ny = idx("files/y.idx")[10:]')
    err = cli_error(path, capsys)
    assert f"{line_col(path, 'npy(')}: error: x: the slice [10:] of 6 examples is empty" in err


def test_float_literals_reach_an_f64_placeholder_unrounded(tmp_path):
    path = tmp_path / "p.tl"
    path.write_text("""
graph g {
    placeholder a: f64[N]
    placeholder b: f32[N]
    a2 = a * 1
    b2 = b * 1
}
data d {
    a = [0.1, 0.3, 1e-300]
    b = [0.1, 0.3, 2.5]
}
evaluate g {
    data = d
    show = [a2, b2]
}
""")
    got = shown(path)
    assert got["a2"].dtype == np.float64 and got["a2"].tolist() == [0.1, 0.3, 1e-300]
    assert got["b2"].dtype == np.float32
    np.testing.assert_array_equal(got["b2"], np.array([0.1, 0.3, 2.5], np.float32))


@pytest.mark.parametrize("call, message, caret", [
    ('npz("f.npz")', 'npz() needs key: npz(path, key)', 'npz("f.npz")'),
    ('csv("f.csv", colums = [0])', 'csv() has no argument "colums"', "colums = [0]"),
    ('idx("a", "b")', "idx() takes at most 1 argument, got 2", '"b"'),
    ("npy(3)", "npy's path must be a string, not the number 3", "3"),
])
def test_loader_arguments_are_checked_when_compiling(call, message, caret):
    text = f"graph g {{\n placeholder x: f32[N]\n}}\ndata d {{\n x = {call}\n}}\n"
    with pytest.raises(tl.ProgramError) as e:
        tl.compile(text, "t.tl")  # no file is read: none of them exists
    assert e.value.message == message and e.value.line == 5
    line = e.value.span.source_line()
    assert line[e.value.column - 1:e.value.span.end_column - 1] == caret


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_nan_and_inf_in_data_are_refused_at_load_naming_field_and_index(tmp_path, bad):
    x = np.zeros((4, 3), np.float32)
    x[2, 1] = float(bad)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "p.tl").write_text('graph g {\n    placeholder x: f32[N, 3]\n    s = sum(x)\n}\n'
                                   'data d {\n    x = npy("x.npy")\n}\n'
                                   "evaluate g {\n    data = d\n    report = [s]\n}\n")
    with pytest.raises(DataError, match=rf'data field "x" holds {bad} at index \[2, 1\] '
                                        r"\(of shape \[4, 3\]\): data must be finite") as e:
        tl.load(str(tmp_path / "p.tl")).run(quiet=True)
    assert e.value.span.line == 6


def test_file_paths_lists_every_loaded_file(tmp_path):
    from tensorlang.compiler.datablocks import file_paths
    text = ('let root = "files"\ngraph g {\n    placeholder x: f32[N]\n}\n'
            'data d {\n    x = npy(root + "/x.npy")[:2]\n    y = [1, 2]\n    z = csv("z.csv")\n}\n')
    program = tl.compile(text, str(tmp_path / "p.tl"))
    got = file_paths(program.data.values(), program.lets, str(tmp_path))
    assert got == [str(tmp_path / "files" / "x.npy"), str(tmp_path / "z.csv")]
