"""Records: classes of named fields, immutable unless asked (`@record`, the project's dataclass).

`@dataclasses.dataclass(frozen=True)` compiles six functions from source text for every class,
about 0.8 ms each time on the 2-core reference machine; the 50 record classes that every
command imports cost 30 ms of a 180 ms `tensorlang check`. `record` makes one function per
class (`__init__`, as fast to call as the dataclass's, from a template compiled once per shape
of fields and renamed to the class's) and shares the rest: equality, hashing
and repr go through one `operator.attrgetter` of the compared fields, and a frozen class's
`__setattr__` is one shared function that refuses. What a class body defines itself (`__repr__`,
`__eq__`, `__hash__`) is kept, as dataclasses do.

    @record                                  # frozen, compared and hashed by value
    class Name:
        id: str
        span: Span = field(default=UNKNOWN, compare=False, repr=False)

    @record(eq=False, slots=True)            # frozen, compared by identity, no __dict__
    @record(frozen=False)                    # mutable state (unhashable when compared by value)

Fields are the class's own annotations, in order, after those of a record base class; a default
is the class attribute's value, or `field(default=..., default_factory=..., compare=...,
repr=..., init=...)`. `__post_init__` runs after the fields are set. `fields(cls_or_record)`
lists them; `replace(r, name=value)` is a copy with some fields changed.
"""

from __future__ import annotations

import builtins
import functools
import types
from operator import attrgetter

__all__ = ["FrozenRecordError", "Field", "field", "fields", "record", "replace"]


class FrozenRecordError(AttributeError):
    """Setting or deleting a field of a frozen record."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class Field:
    """One field of a record: its name, default (or default factory) and what it takes part in."""

    __slots__ = ("name", "default", "default_factory", "compare", "repr", "init")

    def __init__(self, default=MISSING, default_factory=MISSING, compare=True, repr=True,
                 init=True):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("a field takes a default or a default_factory, not both")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr
        self.init = init

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(*, default=MISSING, default_factory=MISSING, compare: bool = True, repr: bool = True,
          init: bool = True):
    """A field with options, as a class attribute's value: `x: list = field(default_factory=list)`
    (`default_factory` is called once per record: a mutable default is never shared)."""
    return Field(default, default_factory, compare, repr, init)


def fields(obj) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    try:
        return obj.__record_fields__
    except AttributeError:
        raise TypeError(f"{obj!r} is not a record") from None


def replace(obj, /, **changes):
    """A new record like obj with the named fields changed (through __init__, so
    __post_init__ runs again)."""
    known = fields(obj)
    unknown = set(changes) - {f.name for f in known if f.init}
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r} to replace")
    return type(obj)(**{f.name: changes[f.name] if f.name in changes else getattr(obj, f.name)
                        for f in known if f.init})


def record(cls=None, /, *, frozen: bool = True, eq: bool = True, slots: bool = False):
    """The class decorator: `@record`, or `@record(frozen=..., eq=..., slots=...)`."""
    def wrap(c):
        return _build(c, frozen, eq, slots)
    return wrap if cls is None else wrap(cls)


def _build(cls, frozen: bool, eq: bool, slots: bool):
    own = _own_fields(cls)
    inherited = [f for base in reversed(cls.__mro__[1:])
                 for f in getattr(base, "__record_fields__", ())]
    by_name = {f.name: f for f in inherited}
    by_name.update((f.name, f) for f in own)
    all_fields = tuple(by_name.values())
    body = dict(cls.__dict__)
    if slots:
        cls = _with_slots(cls, body, own)
    else:  # a field(...)'s default lives in __init__'s signature, not on the class
        for f in own:
            if isinstance(body.get(f.name), Field):
                delattr(cls, f.name)
    cls.__record_fields__ = all_fields
    cls.__match_args__ = tuple(f.name for f in all_fields if f.init)
    _set_if_absent(cls, body, "__init__", _init(cls, all_fields, frozen))
    _set_if_absent(cls, body, "__repr__", _repr(tuple(f.name for f in all_fields if f.repr)))
    if eq:
        key = _key(tuple(f.name for f in all_fields if f.compare))
        _set_if_absent(cls, body, "__eq__", _eq(key))
        if not _explicit_hash(body):
            cls.__hash__ = _hash(key) if frozen else None
    if frozen:
        cls.__setattr__ = _refuse_set
        cls.__delattr__ = _refuse_delete
        if slots:
            cls.__getstate__ = _getstate
            cls.__setstate__ = _setstate
    return cls


def _explicit_hash(body: dict) -> bool:
    """Whether the class body defines __hash__ (Python sets it to None for a body that defines
    only __eq__: that is not an explicit one)."""
    return "__hash__" in body and not (body["__hash__"] is None and "__eq__" in body)


def _own_fields(cls) -> list[Field]:
    out = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        out.append(f)
    return out


def _with_slots(cls, body: dict, own: list[Field]):
    """A copy of cls with __slots__ for its own fields (a slot cannot share its name with a
    class attribute, so the defaults leave the class body)."""
    names = {f.name for f in own}
    body = {k: v for k, v in body.items()
            if k not in names and k not in ("__dict__", "__weakref__")}
    body["__slots__"] = tuple(f.name for f in own)
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    return new


def _set_if_absent(cls, body: dict, name: str, fn) -> None:
    if name not in body:
        fn.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, fn)


def _init(cls, all_fields: tuple[Field, ...], frozen: bool):
    """__init__ for these fields: positional-or-keyword parameters in field order. Its code is
    a template compiled once per shape of fields (what each one is: a parameter, one with a
    default factory, set without a parameter, or left to __post_init__), its placeholder names
    renamed to the fields' (code.replace): compiling costs about 0.1 ms a class, renaming a
    few microseconds, and 51 record classes are made on `tensorlang check`'s way."""
    kinds, defaults = [], []
    scope = {"__builtins__": builtins, "MISSING": MISSING, "_setattr": object.__setattr__}
    seen_default = None
    for k, f in enumerate(all_fields):
        if f.init and f.default is not MISSING:  # the same code: the default is on the function
            kind, seen_default = "param", f.name
            defaults.append(f.default)
        elif f.init and f.default_factory is not MISSING:
            kind, seen_default = "factory", f.name
            scope[f"_f{k}"] = f.default_factory
            defaults.append(MISSING)
        elif f.init:
            if seen_default is not None:
                raise TypeError(f"{cls.__name__}: the field {f.name!r} without a default "
                                f"follows {seen_default!r}, which has one")
            kind = "param"
        elif f.default_factory is not MISSING:
            kind = "made"
            scope[f"_f{k}"] = f.default_factory
        elif f.default is not MISSING:
            kind = "fixed"
            scope[f"_d{k}"] = f.default
        else:
            kind = "later"  # set by __post_init__
        kinds.append(kind)
    code = _template(tuple(kinds), frozen, hasattr(cls, "__post_init__"))
    real = {f"f{k}": f.name for k, f in enumerate(all_fields)}
    code = code.replace(
        co_varnames=tuple(real.get(n, n) for n in code.co_varnames),
        co_names=tuple(real.get(n, n) for n in code.co_names),
        co_consts=tuple(real.get(c, c) if type(c) is str else c for c in code.co_consts))
    return types.FunctionType(code, scope, "__init__", tuple(defaults) or None)


@functools.cache
def _template(kinds: tuple[str, ...], frozen: bool, post_init: bool):
    """The code of __init__ for fields of these kinds, field k named f{k}, its default or
    factory the global _d{k} or _f{k} (the parameters' defaults are set on the function)."""
    params, lines = [], []
    for k, kind in enumerate(kinds):
        name = f"f{k}"
        if kind in ("param", "factory"):
            params.append(name)
            value = name
            if kind == "factory":
                lines.append(f"if {name} is MISSING: {name} = _f{k}()")
        elif kind == "made":
            value = f"_f{k}()"
        elif kind == "fixed":
            value = f"_d{k}"
        else:
            continue
        lines.append(f"_setattr(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
    if post_init:
        lines.append("self.__post_init__()")
    source = (f"def __init__({', '.join(['self', *params])}):\n"
              + "".join(f"    {line}\n" for line in lines or ["pass"]))
    scope: dict = {}
    exec(source, scope)  # noqa: S102 - generated from the placeholders above, nothing else
    return scope["__init__"].__code__


def _key(names: tuple[str, ...]):
    if not names:
        return lambda self: ()
    return attrgetter(*names)


def _repr(names: tuple[str, ...]):
    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__qualname__}({parts})"
    return __repr__


def _eq(key):
    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) == key(other)
    return __eq__


def _hash(key):
    def __hash__(self) -> int:
        return hash(key(self))
    return __hash__


def _refuse_set(self, name, value):
    raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen "
                            f"{type(self).__name__}")


def _refuse_delete(self, name):
    raise FrozenRecordError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")


def _getstate(self):
    return [getattr(self, f.name) for f in self.__record_fields__]


def _setstate(self, state):
    for f, value in zip(self.__record_fields__, state, strict=True):
        object.__setattr__(self, f.name, value)
