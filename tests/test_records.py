"""records.py: `@record` behaves as the dataclass it replaces (the stdlib's dataclasses are the
reference: the same constructor calls, equality, hashing and repr), frozen unless asked."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from tensorlang.records import FrozenRecordError, field, fields, record, replace


def _pair(frozen=True, eq=True, slots=False):
    """The same class declared as a record and as a dataclass."""
    def body():
        class C:
            a: int
            b: str = "b"
            c: tuple = ()
            tags: list = None
            span: str = None

        return C

    ours = body()
    ours.__annotations__ = dict(ours.__annotations__)
    ours.tags = field(default_factory=list, compare=False)
    ours.span = field(default="here", compare=False, repr=False)
    ref = body()
    ref.tags = dataclasses.field(default_factory=list, compare=False)
    ref.span = dataclasses.field(default="here", compare=False, repr=False)
    return (record(frozen=frozen, eq=eq, slots=slots)(ours),
            dataclasses.dataclass(frozen=frozen, eq=eq, slots=slots)(ref))


CALLS = [((1,), {}), ((1, "x"), {}), ((2,), {"c": (1, 2)}), ((1,), {"span": "there"}),
         ((), {"a": 3, "b": "y", "tags": [1]})]


@pytest.mark.parametrize("frozen,eq,slots", [(True, True, False), (True, False, False),
                                             (True, True, True), (True, False, True),
                                             (False, True, False)])
def test_a_record_acts_as_the_dataclass(frozen, eq, slots):
    ours, ref = _pair(frozen, eq, slots)
    made = [(ours(*a, **k), ref(*a, **k)) for a, k in CALLS]
    for x, rx in made:
        assert repr(x) == repr(rx)
        for y, ry in made:
            assert (x == y) == (rx == ry)
        if frozen:
            assert hash(x) == hash(x) and (not eq or hash(x) == hash(copy.copy(x)))
            with pytest.raises(FrozenRecordError):
                x.a = 5
            with pytest.raises(FrozenRecordError):
                del x.a
    if not frozen:
        x = made[0][0]
        assert type(x).__hash__ is None  # compared by value and mutable: unhashable
        x.a = 5
        assert x.a == 5
    assert [f.name for f in fields(ours)] == [f.name for f in dataclasses.fields(ref)]
    assert ours.__match_args__ == ref.__match_args__
    assert slots == (not hasattr(ours(1), "__dict__"))


def test_the_spans_do_not_count_in_equality_and_factories_are_not_shared():
    ours, _ = _pair()
    assert ours(1, span="p") == ours(1, span="q") and hash(ours(1, span="p")) == hash(ours(1))
    assert ours(1).tags is not ours(1).tags
    assert ours(1) != ours(2) and ours(1) != "not a record"


def test_the_class_body_keeps_its_own_methods():
    @record
    class Loose:
        x: int
        y: int = 0

        def __eq__(self, other):
            return isinstance(other, Loose) and self.x == other.x

        def __hash__(self):
            return hash(self.x)

        def __repr__(self):
            return f"<{self.x}>"

    assert Loose(1, 2) == Loose(1, 3) and hash(Loose(1, 2)) == hash(1)
    assert repr(Loose(4)) == "<4>"


def test_post_init_inheritance_and_fields_without_init():
    @record(frozen=False)
    class Base:
        a: int
        n: int = field(init=False)

        def __post_init__(self):
            self.n = self.a * 10

    @record(frozen=False)
    class Child(Base):
        b: int = 2

    c = Child(1)
    assert (c.a, c.b, c.n) == (1, 2, 10)
    assert [f.name for f in fields(Child)] == ["a", "n", "b"]
    with pytest.raises(TypeError):
        Child(1, 2, 3)


def test_replace_copies_with_changes_and_names_a_wrong_field():
    ours, _ = _pair()
    x = ours(1, "x", tags=[1], span="p")
    y = replace(x, b="z")
    assert (y.a, y.b, y.tags, y.span) == (1, "z", [1], "p") and x.b == "x"
    with pytest.raises(TypeError, match="no field 'q'"):
        replace(x, q=1)
    with pytest.raises(TypeError, match="not a record"):
        fields(object())


def test_records_pickle_and_copy():
    for slots in (False, True):
        ours, _ = _pair(slots=slots)
        globals()["PickledRecord"] = ours  # pickle finds a class by its qualified name
        ours.__qualname__ = "PickledRecord"
        x = ours(1, "x", (2,), [3], "p")
        for y in (pickle.loads(pickle.dumps(x)), copy.copy(x), copy.deepcopy(x)):
            assert y == x and (y.tags, y.span) == ([3], "p")


def test_a_field_without_a_default_may_not_follow_one_with_a_default():
    with pytest.raises(TypeError, match="'b' without a default follows 'a'"):
        @record
        class Bad:
            a: int = 0
            b: int


def test_a_field_takes_a_default_or_a_factory_not_both():
    with pytest.raises(ValueError, match="not both"):
        field(default=1, default_factory=list)


@pytest.mark.parametrize("frozen", [True, False])
def test_classes_of_one_shape_share_code_but_not_names_or_defaults(frozen):
    # the __init__ of both is one template renamed: each keeps its own names and defaults
    @record(frozen=frozen)
    class P:
        x: int
        y: int = 1
        z: list = field(default_factory=list)

    @record(frozen=frozen)
    class Q:
        f1: str  # the template's own placeholder names, swapped
        f0: str = "zero"
        MISSING: list = field(default_factory=lambda: ["made"])  # and its globals' names

    @dataclasses.dataclass(frozen=frozen)
    class RefQ:
        f1: str
        f0: str = "zero"
        MISSING: list = dataclasses.field(default_factory=lambda: ["made"])

    assert P.__init__.__code__.co_code == Q.__init__.__code__.co_code
    assert (P(5).x, P(5).y, P(5).z) == (5, 1, [])
    assert P(5).z is not P(5).z
    for args, kwargs in (((), {"f1": "a"}), (("a", "b"), {}), (("a",), {"MISSING": [2]}),
                         ((), {"f1": "a", "f0": "b", "MISSING": None})):
        ours, ref = Q(*args, **kwargs), RefQ(*args, **kwargs)
        assert (ours.f1, ours.f0, ours.MISSING) == (ref.f1, ref.f0, ref.MISSING)
    with pytest.raises(TypeError, match="'f1'"):
        Q()
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        Q("a", x=1)
    assert Q.__init__.__code__.co_varnames[:4] == ("self", "f1", "f0", "MISSING")
