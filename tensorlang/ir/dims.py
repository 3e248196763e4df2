"""Symbolic dims: small polynomials over dim names, with integer coefficients.

A dim is either a plain `int` or a `Dim` (a polynomial that is not a constant: `N`, `N + 5`,
`4*N`, `T - 1`). Arithmetic on dims always returns the normal form, so a constant result is an
`int` again and structural equality is equality of polynomials. Floor division by a constant that
does not divide every coefficient gives an opaque atom (`(N - 1)//2`), still evaluable at run time.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

Monomial = tuple[str, ...]  # sorted symbol names, repeated for powers; () is the constant term

_ATOMS: dict[str, tuple[Dim, int]] = {}  # opaque floor-division atoms: name -> (numerator, divisor)
_unknown_ids = itertools.count(1)


class Dim:
    """A non-constant polynomial over dim names; build with `Dim.sym` and arithmetic."""

    __slots__ = ("terms", "_hash")

    def __init__(self, terms: Mapping[Monomial, int]):
        self.terms = tuple(sorted((m, c) for m, c in terms.items() if c != 0))
        self._hash = hash(self.terms)

    @staticmethod
    def sym(name: str) -> Dim:
        """The dim named `name`."""
        return Dim({(name,): 1})

    @staticmethod
    def unknown() -> Dim:
        """A fresh dim for `?`: equal only to itself, printed `?`."""
        return Dim.sym(f"?{next(_unknown_ids)}")

    # -- arithmetic, in normal form -----------------------------------------------------------
    @staticmethod
    def _terms(x: int | Dim) -> dict[Monomial, int]:
        if isinstance(x, Dim):
            return dict(x.terms)
        return {(): int(x)} if x else {}

    def __add__(self, other: int | Dim) -> int | Dim:
        t = self._terms(self)
        for m, c in self._terms(other).items():
            t[m] = t.get(m, 0) + c
        return normal(t)

    __radd__ = __add__

    def __neg__(self) -> int | Dim:
        return normal({m: -c for m, c in self.terms})

    def __sub__(self, other: int | Dim) -> int | Dim:
        return self + (-other)

    def __rsub__(self, other: int | Dim) -> int | Dim:
        return (-self) + other

    def __mul__(self, other: int | Dim) -> int | Dim:
        t: dict[Monomial, int] = {}
        for (m1, c1), (m2, c2) in itertools.product(self.terms, self._terms(other).items()):
            m = tuple(sorted(m1 + m2))
            t[m] = t.get(m, 0) + c1 * c2
        return normal(t)

    __rmul__ = __mul__

    def __floordiv__(self, k: int | Dim) -> int | Dim:
        return floordiv(self, k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dim) and self.terms == other.terms

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Dim({self})"

    def __str__(self) -> str:
        return dim_str(self)

    @property
    def symbols(self) -> set[str]:
        """The dim names this polynomial mentions."""
        return {s for m, _ in self.terms for s in m}


def normal(terms: Mapping[Monomial, int]) -> int | Dim:
    """The normal form: an int when only the constant term is left."""
    terms = {m: c for m, c in terms.items() if c != 0}
    if not terms:
        return 0
    if list(terms) == [()]:
        return terms[()]
    return Dim(terms)


def floordiv(a: int | Dim, k: int | Dim) -> int | Dim:
    """`a // k`; exact when k divides every coefficient (or k is a shared factor), else an atom."""
    if isinstance(k, Dim):
        q = divide_exact(a, k)
        if q is None:
            raise ValueError(f"cannot divide {dim_str(a)} by {dim_str(k)}")
        return q
    if k == 0:
        raise ZeroDivisionError("floor division of a dim by zero")
    if not isinstance(a, Dim):
        return a // k
    if all(c % k == 0 for _, c in a.terms):
        return normal({m: c // k for m, c in a.terms})
    name = f"({dim_str(a)})//{k}"
    _ATOMS[name] = (a, k)
    return Dim.sym(name)


def divide_exact(a: int | Dim, b: int | Dim) -> int | Dim | None:
    """`a / b` when it is provably an exact polynomial quotient, else None."""
    if not isinstance(b, Dim):
        if b == 0:
            return None
        if not isinstance(a, Dim):
            return a // b if a % b == 0 else None
        if all(c % b == 0 for _, c in a.terms):
            return normal({m: c // b for m, c in a.terms})
        return None
    if len(b.terms) != 1:
        return 1 if a == b else None
    (mb, cb), = b.terms
    out: dict[Monomial, int] = {}
    for m, c in Dim._terms(a).items():
        rest = list(m)
        for s in mb:
            if s not in rest:
                return None
            rest.remove(s)
        if c % cb:
            return None
        out[tuple(rest)] = c // cb
    return normal(out)


def is_const(d: int | Dim) -> bool:
    """True for a concrete size."""
    return not isinstance(d, Dim)


def equal(a: int | Dim, b: int | Dim) -> bool:
    """True when a and b are provably the same size."""
    # dims are kept in normal form (a constant is an int), so equal polynomials are equal values
    return a == b


def differ(a: int | Dim, b: int | Dim) -> bool:
    """True when a and b are provably different sizes (their difference is a nonzero constant)."""
    d = a - b
    return not isinstance(d, Dim) and d != 0


def evaluate(d: int | Dim, env: Mapping[str, int]) -> int:
    """The concrete size of d with the dim names bound in env (KeyError for an unbound name)."""
    if not isinstance(d, Dim):
        return d
    total = 0
    for m, c in d.terms:
        v = c
        for s in m:
            v *= _atom_value(s, env)
        total += v
    return total


def _atom_value(s: str, env: Mapping[str, int]) -> int:
    if s in env:
        return env[s]
    if s in _ATOMS:
        num, k = _ATOMS[s]
        return evaluate(num, env) // k
    raise KeyError(s)


def evaluate_shape(shape, env: Mapping[str, int]) -> tuple[int, ...]:
    """A concrete shape from a shape of dims."""
    return tuple(evaluate(d, env) for d in shape)


def _mono_str(m: Monomial, alone: bool = True) -> str:
    """A product of symbols; an atom like `(N + 1)//2` is bracketed where it is not alone
    (`2*((N + 1)//2)`, never `2*(N + 1)//2`, which reads as `(2*(N + 1))//2`)."""
    parts = []
    groups = [(s, len(list(grp))) for s, grp in itertools.groupby(m)]
    for s, n in groups:
        s = "?" if s.startswith("?") else s
        if "//" in s and (not alone or n > 1 or len(groups) > 1):
            s = f"({s})"
        parts.append(s if n == 1 else f"{s}**{n}")
    return "*".join(parts)


def dim_str(d: int | Dim) -> str:
    """The dim as a user writes it: `N`, `N + 5`, `4*N`, `T - 1`."""
    if not isinstance(d, Dim):
        return str(d)
    out = ""
    # highest degree first, constant last
    for i, (m, c) in enumerate(sorted(d.terms, key=lambda t: (-len(t[0]), t[0]))):
        mag = abs(c)
        mono = _mono_str(m, alone=mag == 1)
        body = mono if (mag == 1 and mono) else (f"{mag}*{mono}" if mono else str(mag))
        if i == 0:
            out = ("-" if c < 0 else "") + body
        else:
            out += (" - " if c < 0 else " + ") + body
    return out


def shape_str(shape) -> str:
    """`[N, 2]`."""
    return "[" + ", ".join(dim_str(d) for d in shape) + "]"


def volume(shape) -> int | Dim:
    """The number of elements, possibly symbolic (`784*N`)."""
    v: int | Dim = 1
    for d in shape:
        v = d * v if isinstance(d, Dim) else v * d
    return v


def symbols(shape) -> set[str]:
    """Every dim name a shape mentions."""
    out: set[str] = set()
    for d in shape:
        if isinstance(d, Dim):
            out |= d.symbols
    return out


def has_dims(value) -> bool:
    """True when an attribute value holds a symbolic dim (itself or inside tuples)."""
    if isinstance(value, Dim):
        return True
    if isinstance(value, tuple):
        return any(has_dims(v) for v in value)
    return False


def resolve(value, env: Mapping[str, int]):
    """An attribute value with its symbolic dims made concrete (tuples too)."""
    if isinstance(value, Dim):
        return evaluate(value, env)
    if isinstance(value, tuple):
        return tuple(resolve(v, env) for v in value)
    return value
