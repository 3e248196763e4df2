"""compiler/run_keys.py: one parser a run-block key. Each is fed the expression the parser
builds from a `key = value` line and checked for the value it returns and for the located
error of each value out of its domain."""

from __future__ import annotations

import pytest

from tensorlang.compiler import run_keys as K
from tensorlang.errors import ProgramError
from tensorlang.frontend.parser import parse
from tensorlang.transforms.optimizers import OPTIMIZERS
from tensorlang.transforms.schedules import SCHEDULES


def expr(text: str):
    """The expression of `k = TEXT` in a train block, spans on line 2."""
    block = parse(f"train g {{\n    k = {text}\n}}\n", "k.tl").items[0]
    return block.entries[0].value


def read(parser, text: str, key: str = "k", lets: dict | None = None):
    return parser(expr(text), K.Reading(lets or {}, {}, key))


def error(parser, text: str, key: str = "k") -> ProgramError:
    with pytest.raises(ProgramError) as info:
        read(parser, text, key)
    assert info.value.span.line == 2
    return info.value


def test_names_and_attribute_names():
    r = K.Reading({}, {}, "minimize")
    assert K.a_name(expr("h.W"), r) == "h.W"
    assert r.where[("minimize", "h.W")].line == 2
    assert read(K.names, "[loss, acc]") == ("loss", "acc")
    assert read(K.names, "loss") == ("loss",)
    assert "name of a node" in error(K.a_name, "1 + 2").message


def test_numbers_in_their_domains():
    assert read(K.positive_int, "3") == 3
    assert read(K.positive_int, "n * 2", lets={"n": 4}) == 8
    assert "at least 1" in error(K.positive_int, "0", "epochs").message
    assert read(K.an_int, "0", "seed") == 0
    assert "0 or more" in error(K.an_int, "-1", "seed").message
    assert read(K.positive_number, "0.5") == 0.5
    assert "must be positive" in error(K.positive_number, "0", "clip_norm").message
    assert read(K.a_bool, "false") is False


def test_files_must_say_their_kind():
    parse_log = K.a_file(".csv", ".jsonl")
    assert read(parse_log, '"runs/m.jsonl"') == "runs/m.jsonl"
    e = error(parse_log, '"m.txt"', "log")
    assert '"m.txt" does not end in .csv or .jsonl' in e.message


def test_optimizer_fills_every_parameter_from_its_signature():
    opt = read(K.an_optimizer, "adam(lr = 0.01, weight_decay = 0.1)")
    got = dict(opt.params)
    assert opt.name == "adam" and got["lr"] == 0.01 and got["weight_decay"] == 0.1
    assert got["beta1"] == 0.9 and got["beta2"] == 0.999
    assert list(got) == list(K.parameters(OPTIMIZERS["adam"], skip=3))


@pytest.mark.parametrize("text, words", [
    ("adam(lr = -1)", "adam's lr must be positive, not -1"),
    ("adam(lr = 0.1, beta1 = 1)", "adam's beta1 must lie in [0, 1)"),
    ("sgd(lr = 0.1, momentum = -0.5)", "sgd's momentum cannot be negative"),
    ("sgd()", "sgd() needs a learning rate: sgd(lr = 0.1)"),
    ("adamm(lr = 0.1)", 'unknown optimizer "adamm"'),
    ("3", "optimizer must be sgd(lr = ...) or adam(...)"),
])
def test_optimizer_mistakes(text, words):
    assert words in error(K.an_optimizer, text, "optimizer").message


def test_schedules_checked_like_optimizers():
    s = read(K.a_schedule, "step(every = 2)")
    assert s.name == "step" and dict(s.params) == {"every": 2, "factor": 0.1}
    assert dict(read(K.a_schedule, "cosine").params) == {"final": 0.0}
    assert set(SCHEDULES) >= {s.name}
    assert "at least 1" in error(K.a_schedule, "step(every = 0)").message
    assert 'step() needs "every"' in error(K.a_schedule, "step()").message
    assert 'unknown schedule "cosin"' in error(K.a_schedule, "cosin").message


def test_monitor_lower_or_higher():
    assert read(K.a_monitor, "val_loss") == K.Monitor("val_loss", False)
    m = read(K.a_monitor, "max(val_acc)")
    assert m == K.Monitor("val_acc", True) and str(m) == "max(val_acc)"


def test_split_and_plain_validation_data():
    assert read(K.a_split, "held") == "held"
    assert read(K.a_split, "split(train_set, 0.2)") == K.Split("train_set", 0.2)
    assert read(K.a_split, "split(t, fraction = 0.1)") == K.Split("t", 0.1)
    assert "(0, 1), not 1" in error(K.a_split, "split(t, 1)").message
    assert "needs a data block and a fraction" in error(K.a_split, "split(t)").message


def test_a_hyperparameter_is_finite():
    import tensorlang as tl
    from tensorlang.errors import ProgramError
    text = ("graph g {\n    placeholder x: f32[N, 1]\n    variable w: f32[1] = zeros()\n"
            "    l = mean(x * w)\n}\ndata d {\n    x = [[1], [2]]\n}\n"
            "train g {\n    data = d\n    minimize = l\n    optimizer = sgd(lr = 1e400)\n"
            "    epochs = 1\n}\n")
    with pytest.raises(ProgramError, match="sgd's lr must be a finite number, not inf"):
        tl.compile(text)
