"""The abstract syntax of a .tl program: frozen records, every node with a Span, no behaviour.

Spans are left out of equality, so two parses of the same program compare equal however it is
laid out (what the formatter's round-trip tests rely on).
"""

from __future__ import annotations

from typing import Union

from ..records import field, record
from ..source import UNKNOWN, Span


def _span() -> Span:
    return field(default=UNKNOWN, compare=False, repr=False)


# ---------------------------------------------------------------- expressions
@record
class Name:
    """A plain name: `x`, `hidden`, `relu`, `N`."""
    id: str
    span: Span = _span()


@record
class Attribute:
    """`value.attr`: a dotted name (`h.W`) or an attribute (`x.T`); lowering tells which."""
    value: Expr
    attr: str
    span: Span = _span()


@record
class Number:
    """An int or float literal, as written (`1`, `.5`, `1e-3`)."""
    value: int | float
    span: Span = _span()


@record
class Bool:
    """`true` or `false`."""
    value: bool
    span: Span = _span()


@record
class String:
    """A double-quoted string, escapes resolved."""
    value: str
    span: Span = _span()


@record
class ListExpr:
    """`[a, b, ...]`: a tensor literal, a list of tensors, a shape or axes."""
    items: tuple[Expr, ...]
    span: Span = _span()


@record
class Unknown:
    """`?` in a type: a dim whose size is not known until run time."""
    span: Span = _span()


@record
class EllipsisLit:
    """`...` in an index or a shape pattern."""
    span: Span = _span()


@record
class BinOp:
    """`left op right`; op is one of `+ - * / % @ ** == != < <= > >= //`."""
    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@record
class UnaryOp:
    """`-x` or `+x`."""
    op: str
    operand: Expr
    span: Span = _span()


@record
class Keyword:
    """`name = value` inside a call."""
    name: str
    value: Expr
    span: Span = _span()


@record
class Call:
    """`func(args..., k = v...)`; func is a Name (an op or a layer) or an Attribute."""
    func: Expr
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...] = ()
    span: Span = _span()


@record
class Slice:
    """`start:stop:step` inside an index; each part may be None."""
    start: Expr | None
    stop: Expr | None
    step: Expr | None
    span: Span = _span()


@record
class Index:
    """`value[i, a:b, ..., -1]`: basic indexing with compile-time integers."""
    value: Expr
    items: tuple[Expr | Slice, ...]
    span: Span = _span()


@record
class IfElse:
    """`then if cond else otherwise`: chosen at compile time (cond is a compile-time bool)."""
    then: Expr
    cond: Expr
    otherwise: Expr
    span: Span = _span()


Expr = Union[Name, Attribute, Number, Bool, String, ListExpr, Unknown, EllipsisLit, BinOp,
             UnaryOp, Call, Index, IfElse]


# ---------------------------------------------------------------- types
@record
class TypeExpr:
    """`f32[N, 2]`; dtype None means the default (f32). dims are dim expressions: Number, Name,
    Unknown, EllipsisLit (in layer patterns) or BinOp of `+ - * //`."""
    dtype: str | None
    dims: tuple[Expr, ...]
    span: Span = _span()


# ---------------------------------------------------------------- statements
@record
class Placeholder:
    """`placeholder NAME: TYPE [= DEFAULT]`."""
    name: str
    type: TypeExpr
    default: Expr | None = None
    span: Span = _span()


@record
class Variable:
    """`variable NAME: TYPE = INIT [frozen | state]`: trained, frozen, or state (changed only by
    `update`)."""
    name: str
    type: TypeExpr
    init: Expr
    frozen: bool = False
    span: Span = _span()
    state: bool = False


@record
class Constant:
    """`constant NAME [: TYPE] = EXPR`."""
    name: str
    type: TypeExpr | None
    value: Expr
    span: Span = _span()


@record
class Assign:
    """`NAME = EXPR`: a node, defined once."""
    name: str
    value: Expr
    span: Span = _span()


@record
class Return:
    """`return EXPR`: the value of a layer."""
    value: Expr
    span: Span = _span()


@record
class Let:
    """`let NAME = EXPR`: a compile-time constant, overridable with --set."""
    name: str
    value: Expr
    span: Span = _span()


@record
class Update:
    """`update NAME = EXPR`: the state variable NAME's value after a training step."""
    name: str
    value: Expr
    span: Span = _span()


Stmt = Union[Placeholder, Variable, Constant, Assign, Return, Let, Update]


# ---------------------------------------------------------------- top-level items
@record
class GraphDef:
    """`graph NAME { statements }`."""
    name: str
    body: tuple[Stmt, ...]
    span: Span = _span()


@record
class LayerParam:
    """A layer parameter: `x: [..., In]` (a tensor with a shape pattern), `units`, `act = relu`."""
    name: str
    pattern: TypeExpr | None = None
    default: Expr | None = None
    span: Span = _span()


@record
class LayerDef:
    """`layer Name(params) { statements; return EXPR }`."""
    name: str
    params: tuple[LayerParam, ...]
    body: tuple[Stmt, ...]
    span: Span = _span()


@record
class Field:
    """`NAME = EXPR` in a data block, or `KEY = EXPR` in a run block."""
    name: str
    value: Expr
    span: Span = _span()


@record
class DataDef:
    """`data NAME { fields }`."""
    name: str
    fields: tuple[Field, ...]
    span: Span = _span()


@record
class RunBlock:
    """`train GRAPH { key = value ... }` or `evaluate GRAPH { ... }`."""
    kind: str  # "train" | "evaluate"
    graph: str
    entries: tuple[Field, ...]
    span: Span = _span()


@record
class Comment:
    """A `#` comment, kept so the formatter can put it back; not part of the meaning."""
    line: int
    column: int
    text: str  # including the leading '#'


Item = Union[Let, GraphDef, LayerDef, DataDef, RunBlock]


@record
class Program:
    """A whole file: its items in order, its comments (compare=False) and its file name."""
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)
    file: str = field(default="<string>", compare=False)
    span: Span = _span()
