"""compiler/program.py: a whole program compiled: the prelude's layers, lets and their --set
overrides (of the kind they replace), items defined once, layers before graphs, data and run
blocks, warnings; compile, compile_syntax and load."""

from __future__ import annotations

import gc
import os

import pytest

from tensorlang.compiler import program as P
from tensorlang.errors import NamingError, ParseError, ProgramError, UsageError
from tensorlang.frontend import syntax as S
from tensorlang.frontend.parser import parse

PROGRAM = """\
let hidden = 3
let rate = 0.5
let name = "run"
let flag = true
graph g {
    placeholder x: f32[N, 2]
    variable unused: f32[2] = zeros()
    a = Dense(x, hidden)
    h = Twice(a)
    loss = mean(h)
}
layer Twice(v) {
    return v * 2
}
data d {
    x = [[1, 2]]
}
train g {
    data = d
    minimize = loss
}
"""


def test_the_prelude_holds_the_standard_layers_parsed_once():
    prelude = P.prelude()
    assert prelude is P.prelude()
    names = {i.name for i in prelude.items if isinstance(i, S.LayerDef)}
    assert {"Dense", "Conv2D", "SimpleRNN"} <= names


@pytest.mark.parametrize("text, value", [("3", 3), ("-2.5", -2.5), ("1e3", 1000.0),
                                         ("true", True), ("false", False), ("x", "x"),
                                         ("True", "True")])
def test_parse_override(text, value):
    got = P.parse_override(text)
    assert got == value and type(got) is type(value)


def test_compile_a_whole_program():
    p = P.compile(PROGRAM, "p.tl")
    assert isinstance(p, P.CompiledProgram) and p.file == "p.tl"
    assert p.lets == {"hidden": 3, "rate": 0.5, "name": "run", "flag": True}
    assert list(p.graphs) == ["g"] and list(p.data) == ["d"]
    assert [r.kind for r in p.runs] == ["train"]
    assert p.graphs["g"].node("a.W").type.shape == (2, 3)  # a layer defined after the graph
    assert p.syntax.items[0] == S.Let("hidden", S.Number(3))
    # the variable the loss cannot reach is reported, not an error
    assert any('"unused"' in w.message for w in p.warnings)


def test_overrides_of_the_kind_they_replace():
    p = P.compile(PROGRAM, "p.tl", {"hidden": "5", "rate": "2", "name": "1e3", "flag": "false"})
    assert p.lets == {"hidden": 5, "rate": 2.0, "name": "1e3", "flag": False}
    assert type(p.lets["rate"]) is float and p.graphs["g"].node("a.W").type.shape == (2, 5)
    assert P.compile(PROGRAM, "p.tl", {"hidden": 4}).lets["hidden"] == 4
    assert P.compile(PROGRAM, "p.tl", {"hidden": "4.0"}).lets["hidden"] == 4


@pytest.mark.parametrize("overrides, message, hint", [
    ({"hiden": "4"}, '--set hiden: the program has no "let hiden"', 'did you mean "hidden"?'),
    ({"hidden": "2.5"}, "--set hidden: expected an integer like the value it replaces (3), "
                        "got 2.5", None),
    ({"hidden": "x"}, '--set hidden: "x" is not an integer, like the value it replaces (3)',
     None),
    ({"flag": "1"}, '--set flag: "1" is not true or false, like the value it replaces (true)',
     None),
    ({"rate": "true"}, '--set rate: "true" is not a number, like the value it replaces (0.5)',
     None),
])
def test_bad_overrides_are_usage_errors(overrides, message, hint):
    with pytest.raises(UsageError) as info:
        P.compile(PROGRAM, "p.tl", overrides)
    assert info.value.message == message and info.value.hint == hint


def test_an_override_notes_the_let_it_replaces():
    with pytest.raises(UsageError) as info:
        P.compile(PROGRAM, "p.tl", {"hidden": "x"})
    ((note, span),) = info.value.notes
    assert note == '"hidden" is defined here' and (span.line, span.column) == (1, 1)


def test_only_simple_lets_can_be_set():
    with pytest.raises(UsageError, match="only a let bound to a number, true/false or a string"):
        P.compile("let n = [1, 2]\n", "p.tl", {"n": "1"})
    with pytest.raises(UsageError) as info:
        P.compile("graph g {\n}\n", "p.tl", {"n": "1"})
    assert info.value.hint is None  # no lets to suggest


@pytest.mark.parametrize("text, message, where", [
    ("let a = 1\nlet a = 2\n", 'let constant "a" is already defined', (2, 1)),
    ("graph g {\n}\ngraph g {\n}\n", 'graph "g" is already defined', (3, 7)),
    ("layer L(v) {\n    return v\n}\nlayer L(v) {\n    return v\n}\n",
     'layer "L" is already defined', (4, 7)),
    ("data d {\n    x = [1]\n}\ndata d {\n    x = [2]\n}\n", 'data block "d" is already defined',
     (4, 6)),
    ("data d {\n    x = [1]\n    x = [2]\n}\n", 'field "x" is already defined', (3, 5)),
])
def test_every_item_is_defined_once(text, message, where):
    with pytest.raises(NamingError) as info:
        P.compile(text, "p.tl")
    e = info.value
    assert e.message == message and (e.line, e.column) == where
    assert e.notes[0][0].endswith("was first defined here")


def test_layer_names_start_with_a_capital():
    with pytest.raises(ProgramError) as info:
        P.compile("layer dense(x) {\n    return x\n}\n", "p.tl")
    assert (info.value.line, info.value.column) == (1, 7)
    assert info.value.hint == 'call it "Dense"; lower-case names are ops'


def test_compile_syntax_takes_a_parsed_program():
    p = P.compile_syntax(parse(PROGRAM, "p.tl"), "p.tl")
    assert list(p.graphs) == ["g"] and p.lets["hidden"] == 3


def test_compiling_leaves_the_garbage_collector_as_it_was():
    assert gc.isenabled()
    P.compile(PROGRAM, "p.tl")
    assert gc.isenabled()
    gc.disable()
    try:
        P.compile(PROGRAM, "p.tl")
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ParseError):
        P.compile("graph {", "p.tl")
    assert gc.isenabled()


def test_load_reads_the_file_and_data_paths_are_relative_to_it(tmp_path, monkeypatch):
    path = tmp_path / "p.tl"
    path.write_text(PROGRAM, encoding="utf-8")
    monkeypatch.chdir("/")
    p = P.load(str(path), {"hidden": "2"})
    assert p.file == str(path) and p.base_dir == str(tmp_path) and p.lets["hidden"] == 2
    assert P.compile(PROGRAM, "not-a-file.tl").base_dir == os.getcwd()


def test_load_mistakes_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file: "):
        P.load(str(tmp_path / "missing.tl"))
    bad = tmp_path / "latin1.tl"
    bad.write_bytes(b"let a = 1 # \xe9\n")
    with pytest.raises(UsageError, match="cannot read "):
        P.load(str(bad))
    with pytest.raises(UsageError, match="cannot read "):
        P.load(str(tmp_path))  # a folder
