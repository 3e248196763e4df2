"""Session: fetch only what is needed, feeds checked against their placeholders (dtype, rank,
fixed and symbolic dims), variables, assign, updates, and run-time failures as located errors."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import records
from tensorlang.errors import DataError, RuntimeNumericsError, TensorlangError
from tensorlang.ops import REGISTRY


def graph(body: str, name: str = "g") -> tl.Graph:
    """A graph compiled from the statements of its body."""
    return tl.compile(f"graph {name} {{\n{body}\n}}\n", "t.tl").graphs[name]


def line_of(g: tl.Graph, text: str) -> int:
    """The 1-based line of the program text of graph() that contains `text`."""
    lines = f"graph g {{\n{BODIES[g]}\n}}\n".splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


BODIES: dict = {}


def sgraph(body: str) -> tl.Graph:
    """graph(), remembering the body for line_of."""
    g = graph(body)
    BODIES[g] = body
    return g


LIN = """
    placeholder x: f32[N, 2]
    placeholder y: f32[N, 1]
    variable W: f32[2, 1] = [[2], [-1]]
    variable b: f32[1] = [0.5]
    p = x @ W + b
    err = mean(square(p - y))
    w2 = W * 2
"""


# -- fetching only what is needed ---------------------------------------------------------------
def test_fetch_that_needs_no_placeholder_runs_unfed():
    sess = tl.Session(graph(LIN))
    np.testing.assert_array_equal(sess.run("w2"), [[4], [-2]])


def test_fetch_values_against_numpy():
    sess = tl.Session(graph(LIN))
    x = np.array([[1, 2], [3, -1], [0.5, 0.25]], np.float32)
    y = np.array([[1], [0], [2]], np.float32)
    p, err = sess.run(["p", "err"], {"x": x, "y": y})
    want = x @ np.array([[2], [-1]], np.float32) + 0.5
    np.testing.assert_allclose(p, want, rtol=1e-6)
    np.testing.assert_allclose(err, np.mean((want - y) ** 2), rtol=1e-6)
    assert p.dtype == np.float32 and err.shape == ()


def test_kernel_of_an_unneeded_node_is_never_called(monkeypatch):
    calls = {"sin": 0, "cos": 0}
    for op in calls:
        real = REGISTRY[op].kernel

        def counting(x, _real=real, _op=op):
            calls[_op] += 1
            return _real(x)

        monkeypatch.setitem(REGISTRY, op, records.replace(REGISTRY[op], kernel=counting))
    g = graph("""
    placeholder x: f32[3]
    a = sin(x)
    c = cos(x) + 1
    """)
    sess = tl.Session(g)
    x = np.array([0.0, 1.0, 2.0], np.float32)
    np.testing.assert_allclose(sess.run("c", {"x": x}), np.cos(x) + 1, rtol=1e-6)
    assert calls == {"sin": 0, "cos": 1}
    sess.run("a", {"x": x})
    assert calls == {"sin": 1, "cos": 1}


def test_unneeded_placeholder_need_not_be_fed_but_is_checked_when_fed():
    sess = tl.Session(graph(LIN))
    x = np.ones((2, 2), np.float32)
    sess.run("p", {"x": x})  # y is not needed
    with pytest.raises(DataError, match=r'dim N is 2 in "x" but 3 in "y"'):
        sess.run("p", {"x": x, "y": np.ones((3, 1), np.float32)})


def test_single_fetch_gives_an_array_and_a_list_gives_a_list():
    sess = tl.Session(graph(LIN))
    assert isinstance(sess.run("w2"), np.ndarray)
    out = sess.run(["w2"])
    assert isinstance(out, list) and len(out) == 1


def test_fetch_and_feed_by_node():
    g = graph(LIN)
    sess = tl.Session(g)
    x = np.array([[1, 1]], np.float32)
    got = sess.run(g.node("p"), {g.node("x"): x})
    np.testing.assert_allclose(got, [[1.5]])


# -- feed checks --------------------------------------------------------------------------------
def test_float64_feed_into_f32_placeholder_is_accepted_and_cast():
    sess = tl.Session(graph(LIN))
    x = np.array([[1.0, 2.0]])  # float64
    p = sess.run("p", {"x": x})
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, [[0.5]])


def test_python_lists_and_ints_feed_a_float_placeholder():
    sess = tl.Session(graph(LIN))
    np.testing.assert_allclose(sess.run("p", {"x": [[1, 2], [3, 4]]}), [[0.5], [2.5]])


def test_float_into_int_placeholder_is_rejected_with_a_located_message():
    g = sgraph("""
    placeholder y: i32[N]
    s = sum(y)
    """)
    with pytest.raises(DataError) as info:
        tl.Session(g).run("s", {"y": np.array([1.0, 2.0])})
    e = info.value
    assert 'feed for "y": float64 values do not fit i32[N] without loss' in e.message
    assert e.line == line_of(g, "placeholder y")
    assert "integer" in e.hint


def test_int64_into_i32_is_accepted_when_every_value_fits():
    sess = tl.Session(graph("""
    placeholder y: i32[N]
    s = sum(y)
    """))
    s = sess.run("s", {"y": np.array([1, 2, 40], np.int64)})
    assert int(s) == 43
    with pytest.raises(DataError, match="int64 values do not fit i32"):
        sess.run("s", {"y": np.array([1, 2**40])})
    with pytest.raises(DataError, match="values do not fit"):
        sess.run("s", {"y": np.array([True, False, True]) + 0.5})


def test_bool_into_float_and_uint8_into_int_are_accepted():
    sess = tl.Session(graph("""
    placeholder m: f32[N]
    placeholder k: i32[N]
    s = sum(m) + cast(sum(k), f32)
    """))
    got = sess.run("s", {"m": np.array([True, False, True]),
                         "k": np.array([200, 100, 1], np.uint8)})
    assert float(got) == 2 + 301


def test_rank_mismatch():
    with pytest.raises(DataError, match=r'feed for "x": expected f32\[N, 2\] \(rank 2\), got an '
                       r"array of shape \[4\] \(rank 1\)"):
        tl.Session(graph(LIN)).run("p", {"x": np.zeros(4)})


def test_fixed_dim_mismatch():
    with pytest.raises(DataError, match=r'feed for "x": expected f32\[N, 2\], got shape \[4, 3\]: '
                       r"dim 1 is 3, not 2"):
        tl.Session(graph(LIN)).run("p", {"x": np.zeros((4, 3))})


def test_symbolic_dim_conflict_names_the_dim_and_both_sizes():
    sess = tl.Session(graph(LIN))
    with pytest.raises(DataError) as info:
        sess.run("err", {"x": np.zeros((4, 2)), "y": np.zeros((3, 1))})
    assert 'dim N is 4 in "x" but 3 in "y"' in info.value.message


def test_symbolic_dims_bind_per_run():
    sess = tl.Session(graph(LIN))
    for n in (1, 4, 2):
        assert sess.run("p", {"x": np.zeros((n, 2))}).shape == (n, 1)


def test_same_dim_twice_in_one_placeholder():
    sess = tl.Session(graph("""
    placeholder a: f32[N, N]
    t = trace(a)
    """))
    assert float(sess.run("t", {"a": np.eye(3)})) == 3.0
    with pytest.raises(DataError, match=r'dim N is 2 in "a" but 3 in "a"'):
        sess.run("t", {"a": np.zeros((2, 3))})


def test_dim_expression_is_checked_whatever_the_declaration_order():
    sess = tl.Session(graph("""
    placeholder z: f32[N + 1]
    placeholder x: f32[N]
    s = sum(z) + sum(x)
    """))
    assert float(sess.run("s", {"z": np.ones(4), "x": np.ones(3)})) == 7.0
    with pytest.raises(DataError, match=r'feed for "z": dim 0 should be N \+ 1 = 4, got 5'):
        sess.run("s", {"z": np.ones(5), "x": np.ones(3)})


def test_unknown_feed_name_suggests_the_closest():
    with pytest.raises(DataError) as info:
        tl.Session(graph(LIN)).run("p", {"xx": np.zeros((1, 2))})
    assert 'graph "g" has no placeholder "xx"' in info.value.message
    assert info.value.hint == 'did you mean "x"?'


def test_needed_placeholder_not_fed():
    with pytest.raises(DataError, match=r'placeholder "x" \(f32\[N, 2\]\) is not fed'):
        tl.Session(graph(LIN)).run("p")


def test_ragged_feed_is_a_data_error():
    with pytest.raises(DataError, match='feed for "x": not a rectangular'):
        tl.Session(graph(LIN)).run("p", {"x": [[1, 2], [3]]})


def test_placeholder_default_is_used_when_unfed_and_a_feed_overrides_it():
    sess = tl.Session(graph("""
    placeholder x: f32[N]
    placeholder scale: f32[] = 3
    y = x * scale
    """))
    np.testing.assert_allclose(sess.run("y", {"x": [1, 2]}), [3, 6])
    np.testing.assert_allclose(sess.run("y", {"x": [1, 2], "scale": 0.5}), [0.5, 1])


def test_dim_needed_without_its_placeholder_is_a_located_error_with_a_hint():
    g = sgraph("""
    placeholder x: f32[N, 3]
    z = zeros([N, 2])
    """)
    sess = tl.Session(g)
    with pytest.raises(DataError) as info:
        sess.run("z")
    assert "dim N is not known" in info.value.message
    assert info.value.line == line_of(g, "z = zeros")
    assert "x" in info.value.hint
    # feeding x binds N even though z does not need x's values
    assert sess.run("z", {"x": np.zeros((4, 3))}).shape == (4, 2)


# -- variables ----------------------------------------------------------------------------------
def test_variables_from_literals_and_assign():
    sess = tl.Session(graph(LIN))
    np.testing.assert_array_equal(sess.variables["W"], [[2], [-1]])
    assert sess.variables["W"].dtype == np.float32
    new = np.array([[1.0], [1.0]])  # float64: cast, not rejected
    sess.assign("W", new)
    new[0, 0] = 100  # assign copied the array
    assert sess.variables["W"].dtype == np.float32
    np.testing.assert_allclose(sess.run("p", {"x": [[1, 2]]}), [[3.5]])


def test_assign_checks_shape_and_dtype():
    sess = tl.Session(graph(LIN + "    variable k: i32[2] = [1, 2]\n"))
    with pytest.raises(DataError, match=r'cannot assign an array of shape \[2\] to variable "W" '
                       r"of type f32\[2, 1\]"):
        sess.assign("W", np.zeros(2))
    with pytest.raises(DataError, match=r'cannot assign float64 values to variable "k"'):
        sess.assign("k", np.array([1.5, 2.0]))
    sess.assign("k", np.array([3, 4]))  # int64 that fits
    assert sess.variables["k"].dtype == np.int32
    with pytest.raises(TensorlangError) as info:
        sess.assign("WW", np.zeros((2, 1)))
    assert info.value.hint == 'did you mean "W"?'


def test_updates_replace_variables_after_the_run():
    g = graph("""
    variable v: f32[2] = [1, 2]
    nv = v * 3
    s = sum(v)
    """)
    sess = tl.Session(g)
    s = sess.run("s", updates={"v": g.node("nv")})
    assert float(s) == 3.0  # computed from the old value
    np.testing.assert_array_equal(sess.variables["v"], [3, 6])
    assert float(sess.run("s")) == 9.0


def test_update_of_the_wrong_type_is_rejected():
    g = graph("""
    variable v: f32[2] = [1, 2]
    s = sum(v)
    """)
    sess = tl.Session(g)
    with pytest.raises(TensorlangError, match=r'update of variable "v" \(f32\[2\]\) with s of '
                       r"type f32\[\]"):
        sess.run("s", updates={"v": "s"})
    np.testing.assert_array_equal(sess.variables["v"], [1, 2])


# -- run-time failures --------------------------------------------------------------------------
def test_singular_inverse_is_a_located_error_naming_the_op():
    g = sgraph("""
    placeholder a: f64[2, 2]
    ai = inv(a)
    """)
    with pytest.raises(TensorlangError) as info:
        tl.Session(g).run("ai", {"a": [[1, 2], [2, 4]]})
    assert info.value.message.startswith("inv failed at run time")
    assert info.value.line == line_of(g, "ai = inv")


def test_check_numerics_names_the_first_nonfinite_node():
    g = sgraph("""
    placeholder x: f32[N]
    l = log(x)
    s = sum(l * 0)
    """)
    sess = tl.Session(g)
    assert np.isnan(sess.run("s", {"x": [1, 0]}))  # 0 * -inf without the check
    with pytest.raises(RuntimeNumericsError) as info:
        sess.run("s", {"x": [1, 0]}, check_numerics=True)
    assert info.value.message.startswith("log produced Inf")
    assert info.value.line == line_of(g, "l = log")
    assert "ranges over [0, 1]" in info.value.format()


def test_a_failure_inside_a_fused_training_kernel_names_the_users_value(tmp_path, capsys):
    from tensorlang.tools.cli import main
    (tmp_path / "ce.tl").write_text(
        "graph g {\n"
        "    placeholder x: f32[N, 3]\n"
        "    placeholder y: i64[N]\n"
        "    variable W: f32[3, 3] = zeros()\n"
        "    loss = mean(softmax_cross_entropy(x @ W, y))\n"
        "}\n"
        "data d {\n    x = [[1, 2, 3], [4, 5, 6]]\n    y = [0, 7]\n}\n"
        "train g {\n    data = d\n    minimize = loss\n    optimizer = sgd(lr = 0.1)\n}\n")
    assert main(["run", str(tmp_path / "ce.tl"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'ce.tl'}:5:12: error: loss (softmax_cross_entropy_mean) "
                          "failed at run time: class id 7 is out of range for 3 classes")
    assert "Traceback" not in err


def test_session_save_and_load_round_trip_every_variable(tmp_path):
    program = tl.compile("graph g {\n    variable w: f64[3] = normal(std = 1)\n"
                         "    variable s: i64[] = 7\n    y = sum(w) * s\n}\n")
    a = tl.Session(program.graphs["g"], seed=1)
    a.save(str(tmp_path / "ck.npz"))
    b = tl.Session(program.graphs["g"], seed=2)
    assert not np.array_equal(a.variables["w"], b.variables["w"])
    b.load(str(tmp_path / "ck.npz"))
    for k in ("w", "s"):
        np.testing.assert_array_equal(a.variables[k], b.variables[k])
    with np.load(tmp_path / "ck.npz") as z:  # plain NumPy reads it by name
        np.testing.assert_array_equal(z["w"], a.variables["w"])


def test_check_numerics_sees_constants_integer_division_and_gradients():
    import tensorlang as tl
    from tensorlang.errors import RuntimeNumericsError

    def failure(body, feed=None):
        g = tl.compile("graph g {\n    " + body.replace("\n", "\n    ") + "\n}\n").graphs["g"]
        names = [n for n, node in g.names.items() if node.op != "placeholder"]
        with pytest.raises(RuntimeNumericsError) as e:
            tl.Session(g).run(names, feed or {}, check_numerics=True)
        return e.value
    assert "divide produced Inf" in failure("y = [1, 2] / 0").message
    assert "log produced Inf" in failure("y = log(0)").message
    i = {"a": np.array([1, 2], np.int32)}
    assert "integer division by zero" in failure("placeholder a: i32[2]\ny = a // 0", i).message
    assert "integer division by zero" in failure("placeholder a: i32[2]\ny = a % (a - 1)",
                                                 i).message
    e = failure("placeholder a: f32[2]\ns = sum(sqrt(a))\ngr = grad(s, a)",
                {"a": np.array([0, 2], np.float32)})
    assert "in the gradient" in e.message and e.span.line == 3  # at the forward line


def test_check_numerics_sees_integer_overflow():
    import tensorlang as tl
    from tensorlang.errors import RuntimeNumericsError
    for body, feed, message in (
            ("placeholder a: i32[2]\ny = a * 2000000000", {"a": np.array([1, 2], np.int32)},
             "multiply: integer overflow .* the true value 4e\\+09 is outside i32's range"),
            ("placeholder a: u8[2]\ny = a + a", {"a": np.array([100, 200], np.uint8)},
             "add: integer overflow .* 400 is outside u8's range")):
        g = tl.compile("graph g {\n    " + body.replace("\n", "\n    ") + "\n}\n").graphs["g"]
        assert tl.Session(g).run("y", feed).dtype.kind in "iu"  # wraps silently without it
        with pytest.raises(RuntimeNumericsError, match=message):
            tl.Session(g).run("y", feed, check_numerics=True)
    g = tl.compile("graph g {\n    placeholder a: i32[2]\n    y = sum(a)\n}\n").graphs["g"]
    got = tl.Session(g).run("y", {"a": np.array([2 ** 30, 2 ** 30], np.int32)},
                            check_numerics=True)
    assert int(got) == 2 ** 31  # sum counts in i64: no overflow
