"""errors.py: the one hierarchy, how an error formats itself (place, caret, notes, hint), the
did-you-mean hint and located warnings."""

from __future__ import annotations

import pytest

from tensorlang import errors as E
from tensorlang.source import Span

TEXT = "graph g {\n    z = x @ W\n}\n"
AT_X = Span("m.tl", 2, 9, 2, 14, TEXT)  # `x @ W`
AT_G = Span("m.tl", 1, 7, 1, 8, TEXT)   # `g`


def test_format_with_place_caret_notes_and_hint():
    e = E.ShapeError("inner dims differ", AT_X, hint="transpose W",
                     notes=(("the graph starts here", AT_G), ("no place for this", None)))
    assert e.format() == (
        "m.tl:2:9: error: inner dims differ\n"
        "        z = x @ W\n"
        "            ^^^^^\n"
        "m.tl:1:7: note: the graph starts here\n"
        "    graph g {\n"
        "          ^\n"
        "note: no place for this\n"
        "hint: transpose W")
    assert str(e) == e.format()


def test_an_error_without_a_place_is_one_line():
    e = E.UsageError("no such file: a.tl")
    assert e.format() == "error: no such file: a.tl"
    assert (e.line, e.column, e.span, e.hint, e.notes) == (None, None, None, None, ())


def test_a_span_without_source_text_gives_no_caret():
    e = E.DataError("bad field", Span("d.tl", 4, 2, 4, 5))
    assert e.format() == "d.tl:4:2: error: bad field"
    assert (e.line, e.column) == (4, 2)


def test_message_and_args_keep_the_plain_message():
    e = E.NamingError("x is undefined", AT_X)
    assert e.message == "x is undefined" and e.args == ("x is undefined",)


@pytest.mark.parametrize("cls", [E.ParseError, E.NamingError, E.ShapeError, E.ProgramError,
                                 E.DataError, E.CheckpointError, E.RuntimeNumericsError,
                                 E.UsageError])
def test_every_user_mistake_is_a_tensorlang_error(cls):
    assert issubclass(cls, E.TensorlangError)
    assert cls("m").format() == "error: m"


def test_op_error_is_not_a_user_error():
    # a shape rule's complaint has no place yet; lowering turns it into a located ShapeError
    assert not issubclass(E.OpError, E.TensorlangError)


def test_a_subclass_may_change_the_kind():
    class Internal(E.TensorlangError):
        kind = "internal error"
    assert Internal("broken", AT_G).format().startswith("m.tl:1:7: internal error: broken\n")


@pytest.mark.parametrize("name, candidates, hint", [
    ("lossses", ["loss", "acc", "losses"], 'did you mean "losses"?'),
    ("tanhh", ["tanh", "relu"], 'did you mean "tanh"?'),
    ("zzz", ["loss", "acc"], None),
    ("x", [], None),
])
def test_did_you_mean(name, candidates, hint):
    assert E.did_you_mean(name, candidates) == hint


def test_did_you_mean_takes_any_iterable_and_ignores_repeats():
    assert E.did_you_mean("hiden", {"hidden": 1, "out": 2}) == 'did you mean "hidden"?'
    assert E.did_you_mean("ab", iter(["abc", "abc"])) == 'did you mean "abc"?'


def test_a_warning_formats_like_an_error_with_warning():
    w = E.CompileWarning("h.W gets no gradient", AT_G, notes=(("the loss", AT_X),))
    assert w.format() == (
        "m.tl:1:7: warning: h.W gets no gradient\n"
        "    graph g {\n"
        "          ^\n"
        "m.tl:2:9: note: the loss\n"
        "        z = x @ W\n"
        "            ^^^^^")
    assert E.CompileWarning("plain").format() == "warning: plain"
    assert not isinstance(w, Exception)


def test_with_deep_stack_runs_deep_recursion_and_hands_back_results_and_errors():
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)
    assert E.with_deep_stack(depth, 50_000) == 50_000  # 50x Python's default limit
    with pytest.raises(ZeroDivisionError):
        E.with_deep_stack(lambda: 1 / 0)
    assert E.with_deep_stack(lambda: E.with_deep_stack(lambda: 7)) == 7  # nested: same thread


def test_quiet_numpy_silences_floating_point_and_runtime_warnings():
    import warnings

    import numpy as np
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with E.quiet_numpy():
            assert np.isnan(np.mean(np.zeros(0))) and np.isinf(np.float32(1) / np.float32(0))


def test_a_message_escapes_control_characters():
    err = E.TensorlangError('bad name "\x1b[2Jx"', hint="\u202eevil")
    assert "\x1b" not in err.format() and "\u202e" not in err.format()
    assert "\\x1b[2Jx" in err.format() and "\\u202eevil" in err.format()
