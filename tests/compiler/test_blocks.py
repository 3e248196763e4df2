"""compiler/blocks.py: train and evaluate blocks checked statically into RunSpecs: each key's
parser, the defaults (sgd(lr = 0.01) when no optimizer is given), every mistake located at the
key or the name it is about, and what the fetches need from the data."""

from __future__ import annotations

import pytest

import tensorlang as tl
from tensorlang.compiler import blocks as B
from tensorlang.errors import ProgramError
from tensorlang.frontend.parser import parse
from tensorlang.transforms.optimizers import OPTIMIZERS

BASE = """graph g {
    placeholder x: f32[N, 2]
    placeholder y: f32[N, 1]
    placeholder s: f32[] = 1
    p = Dense(x, 1, activation = sigmoid) * s
    loss = mean(binary_cross_entropy(p, y))
    per = binary_cross_entropy(p, y)
    n = sum(x > 0)
}
data table {
    x = [[0, 0], [0, 1]]
    y = [[0], [1]]
}
data xs {
    x = [[0, 0], [0, 1]]
}
"""
BLOCK_LINE = BASE.count("\n") + 1  # the line the run block starts on


def spec(block: str) -> B.RunSpec:
    return tl.compile(BASE + block, "b.tl").runs[-1]


def error(block: str) -> ProgramError:
    with pytest.raises(ProgramError) as info:
        spec(block)
    return info.value


def train(*lines: str) -> str:
    return "train g {\n" + "".join(f"    {x}\n" for x in lines) + "}\n"


def test_a_minimal_train_block_gets_the_defaults():
    s = spec(train("data = table", "minimize = loss"))
    assert (s.kind, s.graph, s.data, s.minimize) == ("train", "g", "table", "loss")
    assert s.optimizer == B.Optimizer("sgd", (("lr", 0.01), ("momentum", 0.0),
                                              ("nesterov", False), ("weight_decay", 0.0)))
    assert (s.epochs, s.batch, s.shuffle, s.seed, s.report, s.validate, s.save, s.load) == (
        1, None, True, None, (), None, None, None)
    assert s.span.line == BLOCK_LINE and set(s.spans) == {"data", "minimize"}
    where = s.where[("minimize", "loss")]
    assert (where.line, where.column) == (BLOCK_LINE + 2, 16)


def test_every_train_key():
    s = spec(train("data = table", "minimize = loss", "optimizer = adam(lr = 0.01, beta1 = 0.5)",
                   "epochs = 3", "batch = 2", "shuffle = false", "seed = 4", "report = [loss, n]",
                   "validate = table", 'save = "m.npz"', 'load = "m.npz"'))
    assert s.optimizer == B.Optimizer("adam", (("lr", 0.01), ("beta1", 0.5), ("beta2", 0.999),
                                               ("eps", 1e-8), ("weight_decay", 0.0)))
    assert (s.epochs, s.batch, s.shuffle, s.seed, s.report, s.validate, s.save, s.load) == (
        3, 2, False, 4, ("loss", "n"), "table", "m.npz", "m.npz")


def test_an_evaluate_block():
    s = spec("evaluate g {\n    data = xs\n    show = [p, n]\n    batch = 1\n}\n")
    assert (s.kind, s.data, s.show, s.batch, s.minimize, s.optimizer) == (
        "evaluate", "xs", ("p", "n"), 1, None, None)


def test_lets_reach_the_values():
    s = tl.compile("let e = 2\nlet r = 0.5\n" + BASE +
                   train("data = table", "minimize = loss", "epochs = e * 3",
                         "optimizer = sgd(lr = r, momentum = r)"), "b.tl").runs[0]
    assert s.epochs == 6 and dict(s.optimizer.params) == {"lr": 0.5, "momentum": 0.5,
                                                          "nesterov": False, "weight_decay": 0}


def test_the_key_tables():
    assert {"data", "minimize", "optimizer", "epochs", "batch", "shuffle", "seed", "report",
            "validate", "save", "load"} <= set(B.TRAIN_KEYS)
    assert {"data", "batch", "report", "show", "load"} <= set(B.EVALUATE_KEYS)
    assert "minimize" not in B.EVALUATE_KEYS and "show" not in B.TRAIN_KEYS
    assert set(B.TRAIN_KEYS) | set(B.EVALUATE_KEYS) == set(B.KEYS)


@pytest.mark.parametrize("block, message, hint, where", [
    ("train h {\n}\n", 'train: no graph named "h"', "its graphs: g", (0, 7)),
    (train("minimize = loss"), 'train g: missing "data = ..."', None, (0, 7)),
    (train("data = table"), 'train g: missing "minimize = NODE"', None, (0, 7)),
    (train("data = table", "minimize = loss", "epocs = 3"), 'train blocks have no key "epocs"',
     'did you mean "epochs"?', (3, 5)),
    ("evaluate g {\n    data = table\n    minimize = loss\n}\n",
     'evaluate blocks have no key "minimize"', f"keys: {', '.join(B.EVALUATE_KEYS)}", (2, 5)),
    (train("data = tabel", "minimize = loss"), 'no data block named "tabel"',
     'did you mean "table"?', (1, 12)),
    (train("data = table", "minimize = per"),
     'minimize: "per" must be a float scalar, not f32[N, 1]',
     "write mean(per) to average a per-example loss", (2, 16)),
    (train("data = table", "minimize = n"), 'minimize: "n" must be a float scalar, not i64[]',
     "a loss is a float: i64 values have no gradient", (2, 16)),
    (train("data = table", "minimize = los"), 'graph "g" has no node "los"',
     'did you mean "loss"?', (2, 16)),
    (train("data = table", "minimize = loss", "report = [loss, p]"),
     'report: "p" must be a scalar, not f32[N, 1]', "report mean(p), or show it", (3, 21)),
    (train("data = table", "minimize = loss", "optimizer = sgd"),
     "sgd() needs a learning rate: sgd(lr = 0.1)", None, (3, 17)),
    (train("data = table", "minimize = loss", "optimizer = lbfgs(lr = 1)"),
     'unknown optimizer "lbfgs"', f"optimizers: {', '.join(OPTIMIZERS)}", (3, 17)),
    (train("data = table", "minimize = loss", "optimizer = sgd(lr = -1)"),
     "sgd's lr must be positive, not -1", None, (3, 26)),
    (train("data = table", "minimize = loss", "optimizer = sgd(lr = 0.1, nesterov = 1)"),
     "sgd's nesterov must be true or false, not the number 1", None, (3, 42)),
    (train("data = table", "minimize = loss", "optimizer = 3"),
     "optimizer must be sgd(lr = ...) or adam(...)", f"optimizers: {', '.join(OPTIMIZERS)}",
     (3, 17)),
    (train("data = table", "minimize = loss", "epochs = 0"), "epochs must be at least 1", None,
     (3, 14)),
    (train("data = table", "minimize = loss", "shuffle = 1"),
     "shuffle must be true or false, not the number 1", None, (3, 15)),
    (train("data = table", "minimize = 2 * loss"), "expected the name of a node", None, (2, 16)),
])
def test_mistakes_are_located(block, message, hint, where):
    e = error(block)
    assert e.message == message and e.hint == hint
    assert (e.line - BLOCK_LINE, e.column) == where


def test_a_key_given_twice_points_at_the_first():
    e = error(train("data = table", "data = xs", "minimize = loss"))
    assert e.message == '"data" is given twice'
    assert (e.span.line, e.span.column, e.span.end_column) == (BLOCK_LINE + 2, 5, 9)
    ((note, first),) = e.notes
    assert note == '"data" is first given here' and first.line == BLOCK_LINE + 1


def test_every_needed_placeholder_must_be_fed():
    e = error(train("data = xs", "minimize = loss"))
    assert e.message == 'placeholder "y" is needed but data block "xs" has no field "y"'
    assert e.notes[0][0] == '"y" is declared here' and e.notes[0][1].line == 3
    # s has a default; evaluating n needs only x
    assert spec("evaluate g {\n    data = xs\n    show = [n]\n}\n").show == ("n",)


def test_data_fields_must_name_placeholders():
    e = error("data odd {\n    x = [[0, 0]]\n    y = [[0]]\n    q = [1]\n}\n" +
              train("data = odd", "minimize = loss"))
    assert e.message == 'data field "q" (block "odd") names no placeholder of graph "g"'
    assert e.hint == "its placeholders: x, y, s"
    assert e.notes[0][0] == 'the train block of "g" uses "odd" here'


def test_check_run_in_a_program_without_graphs():
    (block,) = parse("train g {\n    data = d\n}\n", "b.tl").items
    with pytest.raises(ProgramError) as info:
        B.check_run(block, {}, {}, {})
    assert info.value.hint == "the program defines no graph"
