"""Syntax -> Graph: names in order, single assignment, scopes, expressions and compile-time
values. Every node gets the span of the text it came from and is typed as it is built (by
graph.Builder). Calls live in calls.py and placeholder/variable/constant statements in
declarations.py, as functions of the lowering."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import NamingError, ProgramError, ShapeError, did_you_mean
from ..frontend import syntax as S
from ..ir import dims as D
from ..ir.graph import Builder, Graph, Node, weak_type
from ..ir.types import DEFAULT_FLOAT, DTYPES, TensorType
from ..ops import REGISTRY
from ..records import replace
from . import calls, declarations
from . import static as C
from .calls import BUILTIN_FUNCS
from .scope import Scope

MODE = "training"  # the name of the compile-time mode flag

# the infix operators: each op record with a symbol (`+` is add, `@` is matmul, `<` is less)
BINOPS = {op.symbol: op.name for op in REGISTRY.values() if op.symbol}


class GraphLowering:
    """Lowers one `graph` block (and the layers it instantiates) into a Graph."""

    def __init__(self, gdef: S.GraphDef, lets: dict, layers: dict, training: bool = False):
        self.gdef = gdef
        self.lets = lets
        self.layers = layers
        self.training = training  # the compile-time mode: true for a train block's step
        self.b = Builder(gdef.name)
        self.b.graph_span = self.b.span = gdef.span
        self.b.training = training
        self.instances: dict = {}  # layer instance scope -> what calling it by name reuses
        self.update_spans: dict = {}  # state variable -> where its update is written
        self.scopes = [Scope("", body=gdef.body)]
        self.dims: dict[str, D.Dim] = {}
        self.fresh: Counter = Counter()
        self.depth = 0

    @property
    def scope(self) -> Scope:
        """The innermost scope."""
        return self.scopes[-1]

    def lower(self) -> Graph:
        """The whole graph."""
        for stmt in self.gdef.body:
            try:
                self.statement(stmt)
            except RecursionError:
                raise ProgramError("this statement nests too deeply to compile (calls, brackets "
                                   "or operators inside one another, tens of thousands deep)",
                                   stmt.span) from None
        self.b.dims = list(self.dims)
        return self.b.finish()

    # ------------------------------------------------------------------ statements
    def statement(self, s) -> Node | None:
        """Lower one statement; returns the value of a `return`."""
        self.b.span = s.span
        if isinstance(s, S.Let):
            self.define(s.name, self.value(s.value), s.span)
        elif isinstance(s, S.Placeholder):
            declarations.placeholder(self, s)
        elif isinstance(s, S.Variable):
            declarations.variable(self, s)
        elif isinstance(s, S.Constant):
            declarations.constant(self, s)
        elif isinstance(s, S.Assign):
            # checked before a layer call makes `h.W` under the name; the caret under the name
            self.check_new(s.name, s.span, name_only=True)
            value = self.value(s.value, name=s.name)
            self.define(s.name, value, s.span)
            if _is_number(value):  # `z = k * 2` stays a compile-time value and is also a node
                self.b.bind(self.scope.qualify(s.name), self.tensor(value, s.value.span), s.span)
        elif isinstance(s, S.Return):
            if not self.scope.is_layer:
                raise ProgramError("return belongs in a layer, not in a graph", s.span)
            return self.node(s.value)
        elif isinstance(s, S.Update):
            declarations.update(self, s)
        return None

    def check_new(self, name: str, span, name_only: bool = False) -> None:
        """A NamingError (with a note at the first definition) when name is taken here."""
        sc = self.scope
        if name in sc.locals:
            if name_only:  # the statement starts with the name: put the caret under it alone
                span = replace(span, end_line=span.line,
                                           end_column=span.column + len(name))
            first = sc.locals[name]
            where = next((st.span for st in sc.body if getattr(st, "name", None) == name),
                         first.span if isinstance(first, Node) else None)
            raise NamingError(f'"{name}" is already defined', span,
                             notes=((f'"{name}" was first defined here', where),) if where else (),
                             hint="each name is defined once; pick a new name for this value")

    def define(self, name: str, value, span) -> None:
        """Bind a name in the current scope (nodes also get their graph-wide name)."""
        sc = self.scope
        if name == MODE:
            raise NamingError(f'"{MODE}" is the compile-time mode flag and cannot be redefined',
                              span, hint="pick another name")
        self.check_new(name, span)
        if isinstance(value, Node):
            value = self.b.bind(sc.qualify(name), value, span)
        sc.locals[name] = value

    def type_of(self, t: S.TypeExpr, what: str, concrete: bool = False) -> TensorType:
        """A TensorType from a written type; symbolic dim names become Dims of this graph."""
        dims = []
        for d in t.dims:
            if isinstance(d, S.EllipsisLit):
                raise ProgramError("`...` belongs in layer parameter patterns", d.span)
            v = self.dim(d)
            if isinstance(v, int) and v < 0:
                raise ShapeError(f"a dim cannot be negative, but this one is {v}", d.span)
            if concrete and isinstance(v, D.Dim):
                raise ShapeError(f"{what} must have a concrete shape, but dim {v} is symbolic",
                                 d.span, hint="declare its size with a number or a let constant")
            dims.append(v)
        return TensorType(t.dtype or DEFAULT_FLOAT, tuple(dims))

    def dim(self, e) -> int | D.Dim:
        """One dim: a number, a let/pattern name, `?`, a new symbolic name, or arithmetic."""
        if isinstance(e, S.Number) and isinstance(e.value, int):
            if e.value < 0:
                raise ShapeError(f"a dim cannot be negative ({e.value})", e.span)
            return e.value
        if isinstance(e, S.Unknown):
            return D.Dim.unknown()
        if isinstance(e, S.Name):
            v = self.lookup_static(e.id)
            if v is None:
                if isinstance(self.lookup_value(e.id), Node):
                    raise ShapeError(f'the dim "{e.id}" is a tensor '
                                     f"({self.lookup_value(e.id).type}), not an integer", e.span,
                                     hint="dims are compile-time integers or names of sizes")
                return self.dims.setdefault(e.id, D.Dim.sym(e.id))
            if isinstance(v, D.Dim) or (isinstance(v, int) and not isinstance(v, bool)):
                return v
            raise ShapeError(f'the dim "{e.id}" is {C.describe(v)}, not an integer', e.span)
        if isinstance(e, S.BinOp) and e.op in ("+", "-", "*", "//"):
            return C.binary(e.op, self.dim(e.left), self.dim(e.right), e.span)
        if isinstance(e, S.UnaryOp) and e.op == "-":
            return -self.dim(e.operand)
        raise ShapeError("a dim must be an integer, a name, `?` or an integer expression",
                         e.span)

    def lookup_static(self, name: str):
        """A compile-time value bound to name in the current scope or as a let, else None."""
        v = self.scope.locals.get(name)
        if v is not None and C.is_static(v):
            return v
        return self.lets.get(name)

    # ------------------------------------------------------------------ expressions
    def node(self, e) -> Node:
        """The value of an expression as a graph node (literals become constants)."""
        return self.tensor(self.value(e), e.span)

    def tensor(self, v, span) -> Node:
        """A value as a Node: literals become constants of their own (weak) dtype."""
        v = self.as_node(v, span)
        if isinstance(v, Node):
            return v
        t = weak_type(v)
        return self.b.constant(v, t.dtype, weak=t.weak, span=span)

    def as_node(self, v, span):
        """A value as an op input: a Node, or a literal that the Builder makes a weakly typed
        constant (`x * 2` stays f32)."""
        if isinstance(v, Node):
            return v
        if isinstance(v, (bool, int, float, np.ndarray)):
            return v  # a literal: the Builder gives it the dtype of the tensors it meets
        if isinstance(v, tuple) and v and all(isinstance(x, Node) for x in v):
            raise ProgramError("a list of tensors is not a tensor here: use stack([...]) or "
                               "concat([...])", span)
        if isinstance(v, tuple) and C.is_static(v) and not _has(v, (str, D.Dim, C.Func)):
            try:
                arr = np.array(v)
            except ValueError:
                arr = None
            if arr is None or arr.dtype == object:
                raise ProgramError("a tensor literal must be a rectangular list of numbers", span)
            return arr
        raise ProgramError(f"expected a tensor, not {C.describe(v)}", span)

    def value(self, e, name: str | None = None):
        """The value of an expression: a Node or a compile-time value. `name` is the name the
        value is assigned to (a layer call takes it as its scope)."""
        self.b.span = e.span
        kind = type(e)
        if kind in (S.Number, S.Bool, S.String):
            return C.number(e) if kind is S.Number else e.value
        if kind is S.Call:
            return calls.call(self, e, name)
        if kind is S.IfElse:  # `h = Dense(x, 4) if training else x`: the layer is named h
            return self.if_else(e, name)
        method = _VALUE.get(kind)
        if method is None:
            raise ProgramError(f"{kind.__name__.lower()} is not allowed here", e.span)
        return method(self, e)

    def if_else(self, e: S.IfElse, name: str | None = None):
        """`A if COND else B` chosen now: both branches are lowered and type-checked (they must
        agree in dtype and shape, so no mode changes a shape), only the chosen one is kept."""
        cond = self.value(e.cond)
        if not isinstance(cond, bool):
            hint = ("a tensor chooses per element at run time: where(cond, a, b)"
                    if isinstance(cond, Node) else None)
            raise ProgramError(f"the condition of `if` must be a compile-time true or false, "
                               f"not {C.describe(cond)}", e.cond.span, hint=hint)
        chosen, other = (e.then, e.otherwise) if cond else (e.otherwise, e.then)
        saved = (self.b.snapshot(), Counter(self.fresh), dict(self.dims), dict(self.instances),
                 dict(self.update_spans))
        try:
            alternative = self.value(other, name)
            alt_type = self._branch_type(alternative)
        finally:
            self.b.restore(saved[0])
            self.fresh, self.dims, self.instances, self.update_spans = saved[1:]
        value = self.value(chosen, name)
        mine = self._branch_type(value)
        if not _same_branch_types(mine, alt_type):
            then, otherwise = (mine, alt_type) if cond else (alt_type, mine)
            raise ShapeError(f"the branches of `if` differ: {_kind(then)} if ... else "
                             f"{_kind(otherwise)}; both must have the same dtype and shape",
                             e.span, hint="the mode may change values, never types")
        return value

    @staticmethod
    def _branch_type(v):
        """A branch's tensor type (a literal: the weak type it would have), None for others."""
        if isinstance(v, Node):
            return v.type
        if _is_number(v):
            return weak_type(v)
        return None

    def list_value(self, e: S.ListExpr) -> tuple:
        return tuple(self.value(x) for x in e.items)

    def unary(self, e: S.UnaryOp):
        v = self.value(e.operand)
        if e.op == "+":
            return v
        if isinstance(v, Node):
            return self.b.add("neg", (v,), span=e.span)
        return C.binary("-", 0, v, e.span) if not isinstance(v, float) else -v

    def name(self, e: S.Name):
        if e.id == MODE:
            return self.training
        for sc in reversed(self.scopes):
            if e.id in sc.locals:
                return sc.locals[e.id]
            if sc.is_layer:
                break  # layers are closed: they see their parameters, locals and lets only
        if e.id in self.lets:
            return self.lets[e.id]
        if e.id in self.dims:
            return self.dims[e.id]
        if e.id in REGISTRY and not REGISTRY[e.id].internal or e.id in self.layers \
                or e.id in BUILTIN_FUNCS:
            return C.Func(e.id, e.span)
        if e.id in DTYPES:
            return e.id
        self.check_defined_later(e.id, e.span)
        raise NamingError(f'"{e.id}" is not defined', e.span,
                         hint=did_you_mean(e.id, self.visible_names()))

    def check_defined_later(self, name: str, span) -> None:
        """A located error when `name` is defined by a later statement of the current block."""
        for stmt in self.scope.body:
            if getattr(stmt, "name", None) == name and (stmt.span.line, stmt.span.column) > (
                    span.line, span.column):
                raise NamingError(f'"{name}" is used before it is defined', span,
                                 notes=((f'"{name}" is defined later, here', stmt.span),),
                                 hint="statements are read in order: move the definition above "
                                      "its first use")

    def lookup_value(self, name: str):
        """What a plain name is bound to in the visible scopes or the lets, else None."""
        for sc in reversed(self.scopes):
            if name in sc.locals:
                return sc.locals[name]
            if sc.is_layer:
                break
        return self.lets.get(name)

    def visible_names(self) -> list[str]:
        """Every name a did-you-mean may suggest here."""
        out = [MODE, *self.lets, *self.dims]
        for sc in reversed(self.scopes):
            out += list(sc.locals)
            if sc.is_layer:
                break
        return out

    def binop(self, e: S.BinOp):
        a, b = self.value(e.left), self.value(e.right)
        if not isinstance(a, Node) and not isinstance(b, Node):
            if isinstance(a, tuple) or isinstance(b, tuple):
                a, b = self.as_node(a, e.left.span), self.as_node(b, e.right.span)
            else:
                return C.binary(e.op, a, b, e.span)
        op = BINOPS[e.op]
        return self.b.add(op, (self.as_node(a, e.left.span), self.as_node(b, e.right.span)),
                          span=e.span)

    def attribute(self, e: S.Attribute):
        dotted = _dotted(e)
        if dotted is not None:
            for cand in (self.scope.qualify(dotted), dotted):
                if cand in self.b.names and (self.scope.prefix == "" or cand.startswith(
                        self.scope.prefix + ".")):
                    return self.b.names[cand]
        if e.attr == "T":
            return self.b.add("transpose", (self.node(e.value),), {"axes": None}, span=e.span)
        if dotted is None:
            raise NamingError(f'no attribute ".{e.attr}" here: after a value only .T (transpose) '
                             "may follow", e.span,
                             hint="to reach a layer's node, name the call (h = L(x)) and write "
                                  f"h.{e.attr}")
        base = dotted.split(".")[0]
        if base and base not in self.scope.locals:
            self.check_defined_later(base, e.span)
        known = [n for n in self.b.names if base and n.startswith(base + ".")]
        raise NamingError(f'"{dotted or e.attr}" is not defined', e.span,
                         hint=did_you_mean(dotted, known) if dotted and known else
                         "a dotted name refers to a layer's variable or node, like h.W")

    def index(self, e: S.Index):
        x = self.node(e.value)
        items = []
        for it in e.items:
            if isinstance(it, S.Slice):
                parts = [None if p is None else C.to_int(self.value(p), p.span, "a slice bound")
                         for p in (it.start, it.stop, it.step)]
                items.append(("slice", *parts))
            elif isinstance(it, S.EllipsisLit):
                items.append("...")
            else:
                v = self.value(it)
                if isinstance(v, Node):
                    raise ProgramError("indices in [...] are compile-time integers; gather by a "
                                       "tensor of indices with take(x, indices, axis)", it.span)
                items.append(C.to_int(v, it.span, "an index"))
        return self.b.add("index", (x,), {"items": tuple(items)}, span=e.span)

def _dotted(e) -> str | None:
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Attribute):
        base = _dotted(e.value)
        return None if base is None else f"{base}.{e.attr}"
    return None


def _has(v, types) -> bool:
    if isinstance(v, tuple):
        return any(_has(x, types) for x in v)
    return isinstance(v, types)


def _is_number(v) -> bool:
    """A number, a bool, or a (nested) list of them: a value that is also a tensor."""
    if isinstance(v, tuple):
        return bool(v) and all(_is_number(x) for x in v)
    return isinstance(v, (bool, int, float))


_VALUE = {S.Name: GraphLowering.name, S.ListExpr: GraphLowering.list_value,

          S.UnaryOp: GraphLowering.unary, S.BinOp: GraphLowering.binop,
          S.Attribute: GraphLowering.attribute, S.Index: GraphLowering.index}


def _kind(t) -> str:
    return "a compile-time value" if t is None else str(t)


def _same_branch_types(a, b) -> bool:
    """Branches agree: compile-time values on both sides, or tensors of one shape and dtype (a
    number literal takes the other side's dtype, as it would in arithmetic)."""
    if a is None or b is None:
        return a is b
    if not _same_shape(a, b):
        return False
    return a.weak or b.weak or a.dtype == b.dtype


def _same_shape(a, b) -> bool:
    return a.rank == b.rank and all(D.equal(x, y) for x, y in zip(a.shape, b.shape))
