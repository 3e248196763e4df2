"""tensorlang ops as ONNX nodes (opset 17), one rule an op, for `tensorlang export`
(export_onnx.py). A rule takes the Emitter, the node and its inputs' ONNX value names and returns
the name of the node's value (the nn, loss, convolution and pooling rules are in onnx_nn.py,
which uses the helpers here). NumPy's type promotion is made explicit: every input is Cast to the
dtype the op computes in (the node's dtype for arithmetic, the inputs' common dtype for
comparisons), so an ONNX op never sees two element types. An op with no rule here has no ONNX
form: exporting a graph that needs it is a located error naming it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir.types import np_dtype, promote

RULES: dict[str, Callable] = {}


def rule(*names: str, **fixed):
    """Register an ONNX rule for these ops (keywords are passed on to it)."""
    def register(fn):
        for n in names:
            RULES[n] = (lambda e, node, ins, _fn=fn, **k: _fn(e, node, ins, **{**fixed, **k}))
        return fn
    return register


def _as(e, node, ins, dtype=None):
    """The inputs cast to `dtype` (the node's by default)."""
    dtype = dtype or node.dtype
    return [e.cast(x, i.dtype, dtype) for x, i in zip(ins, node.inputs)]


# ------------------------------------------------------------------ elementwise
UNARY = {"neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sin": "Sin",
         "cos": "Cos", "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "sign": "Sign",
         "floor": "Floor", "round": "Round", "erf": "Erf", "softplus": "Softplus",
         "stop_gradient": "Identity"}
BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "power": "Pow",
          "maximum": "Max", "minimum": "Min"}
COMPARE = {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
           "greater_equal": "GreaterOrEqual"}

for _op, _onnx in UNARY.items():
    rule(_op, kind=_onnx)(lambda e, node, ins, kind: e.op(kind, _as(e, node, ins)))
for _op, _onnx in BINARY.items():
    rule(_op, kind=_onnx)(lambda e, node, ins, kind: e.op(kind, _as(e, node, ins)))
for _op, _onnx in COMPARE.items():
    rule(_op, kind=_onnx)(lambda e, node, ins, kind: e.op(
        kind, _as(e, node, ins, promote(*[i.type for i in node.inputs]))))


@rule("not_equal")
def _not_equal(e, node, ins):
    return e.op("Not", [e.op("Equal", _as(e, node, ins, promote(*[i.type for i in node.inputs])))])


@rule("square")
def _square(e, node, ins):
    x = _as(e, node, ins)[0]
    return e.op("Mul", [x, x])


@rule("where")
def _where(e, node, ins):
    return e.op("Where", [e.cast(ins[0], node.inputs[0].dtype, "bool"),
                          e.cast(ins[1], node.inputs[1].dtype, node.dtype),
                          e.cast(ins[2], node.inputs[2].dtype, node.dtype)])


@rule("cast")
def _cast(e, node, ins):
    return e.cast(ins[0], node.inputs[0].dtype, node.dtype, always=True)


@rule("relu_grad")
def _relu_grad(e, node, ins):
    x, g = ins
    zero = e.const(np.zeros((), np_dtype(node.inputs[0].dtype)))
    return e.op("Where", [e.op("Greater", [x, zero]), g,
                          e.const(np.zeros((), np_dtype(node.dtype)))])


@rule("leaky_relu")
def _leaky_relu(e, node, ins):
    return e.op("LeakyRelu", _as(e, node, ins), alpha=float(node.attrs.get("alpha", 0.01)))


# ------------------------------------------------------------------ linear algebra
@rule("matmul", "dot")  # dot takes 1-D and 2-D operands only, where it is matmul
def _matmul(e, node, ins):
    return e.op("MatMul", _as(e, node, ins))


@rule("linear")
def _linear(e, node, ins):
    x, w, b = _as(e, node, ins)
    return e.op("Add", [e.op("MatMul", [x, w]), b])


@rule("matmul_t")
def _matmul_t(e, node, ins):
    a, b = _as(e, node, ins)
    if node.attrs.get("ta"):
        a = e.op("Transpose", [a], perm=[1, 0])
    if node.attrs.get("tb"):
        b = e.op("Transpose", [b], perm=[1, 0])
    return e.op("MatMul", [a, b])


# ------------------------------------------------------------------ reductions
def _axes(node):
    axis = node.attrs.get("axis")
    rank = node.inputs[0].type.rank
    if axis is None:
        return list(range(rank))
    return [axis] if isinstance(axis, int) else list(axis)


def _reduce(e, node, ins, kind):
    x = _as(e, node, ins)[0]
    axes, keep = _axes(node), int(bool(node.attrs.get("keepdims", False)))
    if not axes:
        return e.op("Identity", [x])
    if kind == "ReduceSum":  # opset 13+: the axes are an input
        return e.op(kind, [x, e.const(np.asarray(axes, np.int64))], keepdims=keep)
    return e.op(kind, [x], axes=axes, keepdims=keep)


for _op, _onnx in {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax",
                   "min": "ReduceMin", "prod": "ReduceProd", "logsumexp": "ReduceLogSumExp"
                   }.items():
    rule(_op, kind=_onnx)(_reduce)


@rule("argmax", "argmin")
def _argmax(e, node, ins):
    x = ins[0]
    axis = node.attrs.get("axis")
    if axis is None:
        x, axis = e.op("Reshape", [x, e.const(np.asarray([-1], np.int64))]), 0
    kind = "ArgMax" if node.op == "argmax" else "ArgMin"
    out = e.op(kind, [x], axis=int(axis), keepdims=int(bool(node.attrs.get("keepdims", False))))
    return e.cast(out, "i64", node.dtype)


@rule("sum_to")
def _sum_to(e, node, ins):
    x, shape = node.inputs[0].type.shape, tuple(node.attrs["shape"])
    lead = len(x) - len(shape)
    stretched = [lead + k for k, d in enumerate(shape) if d == 1 and x[lead + k] != 1]
    out = ins[0]
    if stretched:
        out = e.op("ReduceSum", [out, e.const(np.asarray(stretched, np.int64))], keepdims=1)
    if lead:
        out = e.op("ReduceSum", [out, e.const(np.arange(lead, dtype=np.int64))], keepdims=0)
    return out if out != ins[0] else e.op("Identity", [out])


@rule("size_of", "element_count")
def _size_of(e, node, ins):
    axes = node.attrs.get("axis", None)
    rank = node.inputs[0].type.rank
    axes = list(range(rank)) if axes is None else [axes] if isinstance(axes, int) else list(axes)
    if not axes:
        return e.const(np.ones((), np_dtype(node.dtype)))
    picked = e.op("Gather", [e.op("Shape", [ins[0]]), e.const(np.asarray(axes, np.int64))])
    count = e.op("ReduceProd", [picked], keepdims=0)
    return e.cast(count, "i64", node.dtype)


@rule("mse")
def _mse(e, node, ins):
    a, b = _as(e, node, ins)
    d = e.op("Sub", [a, b])
    return e.op("ReduceMean", [e.op("Mul", [d, d])], keepdims=0)


# ------------------------------------------------------------------ shapes
@rule("reshape")
def _reshape(e, node, ins):
    shape = node.attrs["shape"]
    if node.attrs.get("order", "C") != "F":
        return e.op("Reshape", [ins[0], e.dims(shape)])
    # Fortran order: reverse the axes, reshape to the reversed shape, reverse back
    rank = node.inputs[0].type.rank
    flipped = e.op("Transpose", ins, perm=list(reversed(range(rank))))
    out = e.op("Reshape", [flipped, e.dims(tuple(reversed(tuple(shape))))])
    return e.op("Transpose", [out], perm=list(reversed(range(len(shape)))))


@rule("broadcast_to")
def _broadcast_to(e, node, ins):
    return e.op("Expand", [ins[0], e.dims(node.attrs["shape"])])


@rule("flatten")
def _flatten(e, node, ins):
    return e.op("Flatten", ins, axis=1)


@rule("transpose")
def _transpose(e, node, ins):
    axes = node.attrs.get("axes")
    perm = list(axes) if axes is not None else list(reversed(range(node.inputs[0].type.rank)))
    return e.op("Transpose", ins, perm=perm)


@rule("expand_dims")
def _expand_dims(e, node, ins):
    axis = node.attrs["axis"]
    axes = [axis] if isinstance(axis, int) else list(axis)
    return e.op("Unsqueeze", [ins[0], e.const(np.asarray(axes, np.int64))])


@rule("squeeze")
def _squeeze(e, node, ins):
    axes = node.attrs.get("axis", ())
    axes = [axes] if isinstance(axes, int) else list(axes)
    return e.op("Squeeze", [ins[0], e.const(np.asarray(axes, np.int64))]) if axes else \
        e.op("Identity", ins)


@rule("concat")
def _concat(e, node, ins):
    return e.op("Concat", _as(e, node, ins), axis=int(node.attrs.get("axis", 0)))


@rule("stack")
def _stack(e, node, ins):
    axis = e.const(np.asarray([node.attrs.get("axis", 0)], np.int64))
    return e.op("Concat", [e.op("Unsqueeze", [x, axis]) for x in _as(e, node, ins)],
                axis=int(node.attrs.get("axis", 0)))


def one_hot(e, ids: str, depth: int, dtype: str) -> str:
    """OneHot in f32 (what onnxruntime implements for every index type), cast to dtype."""
    values = e.const(np.asarray([0, 1], np.float32))
    hot = e.op("OneHot", [e.cast(ids, None, "i64"), e.const(np.asarray(depth, np.int64)),
                          values], axis=-1)
    return e.cast(hot, "f32", dtype)


@rule("one_hot")
def _one_hot(e, node, ins):
    return one_hot(e, ins[0], int(node.attrs["depth"]), node.dtype)


# ------------------------------------------------------------------ creation
def _filled(e, node, shape, value):
    fill = e.onnx.numpy_helper.from_array(np.asarray([value], np_dtype(node.dtype)))
    return e.op("ConstantOfShape", [shape], value=fill)


@rule("zeros", "ones", "full")
def _full(e, node, ins):
    value = {"zeros": 0, "ones": 1}.get(node.op, node.attrs.get("value"))
    return _filled(e, node, e.dims(node.attrs["shape"]), value)


@rule("zeros_like", "ones_like")
def _like(e, node, ins):
    return _filled(e, node, e.op("Shape", ins), 0 if node.op == "zeros_like" else 1)


@rule("hstack", "vstack")
def _hvstack(e, node, ins):
    ranks = [i.type.rank for i in node.inputs]
    ins = _as(e, node, ins)
    if node.op == "hstack":  # NumPy's atleast_1d first
        flat = e.const(np.asarray([1], np.int64))
        ins = [e.op("Reshape", [x, flat]) if r == 0 else x for x, r in zip(ins, ranks)]
        return e.op("Concat", ins, axis=1 if ranks[0] > 1 else 0)
    axis0 = e.const(np.asarray([0], np.int64))
    rows = [e.op("Unsqueeze", [x, axis0]) if r == 1 else x for x, r in zip(ins, ranks)]
    return e.op("Concat", rows, axis=0)


# ------------------------------------------------------------------ more activations, gathers
@rule("silu")
def _silu(e, node, ins):
    x = _as(e, node, ins)[0]
    return e.op("Mul", [x, e.op("Sigmoid", [x])])


@rule("elu")
def _elu(e, node, ins):
    return e.op("Elu", _as(e, node, ins), alpha=float(node.attrs.get("alpha", 1.0)))


@rule("gelu")
def _gelu(e, node, ins):
    x = _as(e, node, ins)[0]
    dt = np_dtype(node.dtype)
    inner = e.op("Erf", [e.op("Div", [x, e.const(np.asarray(np.sqrt(2), dt))])])
    one, half = e.const(np.ones((), dt)), e.const(np.asarray(0.5, dt))
    return e.op("Mul", [e.op("Mul", [half, x]), e.op("Add", [one, inner])])


@rule("logit")
def _logit(e, node, ins):
    """log(p) - log(1 - p), p clipped to [tiny, 1 - epsneg] as the kernel clips it."""
    dt = np_dtype(node.dtype)
    p = e.op("Clip", [_as(e, node, ins)[0], e.const(np.asarray(np.finfo(dt).tiny, dt)),
                      e.const(np.asarray(1 - np.finfo(dt).epsneg, dt))])
    one = e.const(np.ones((), dt))
    return e.op("Sub", [e.op("Log", [p]), e.op("Log", [e.op("Sub", [one, p])])])


@rule("clip")
def _clip(e, node, ins):
    dt = np_dtype(node.dtype)
    low, high = (e.const(np.asarray(node.attrs[k]).astype(dt)) for k in ("low", "high"))
    return e.op("Clip", [_as(e, node, ins)[0], low, high])


def _moment(e, node, ins):
    x = _as(e, node, ins)[0]
    axes, keep = _axes(node), int(bool(node.attrs.get("keepdims", False)))
    if not axes:  # over no axis: every element is its own mean
        return e.op("Sub", [x, x])
    d = e.op("Sub", [x, e.op("ReduceMean", [x], axes=axes, keepdims=1)])
    var = e.op("ReduceMean", [e.op("Mul", [d, d])], axes=axes, keepdims=keep)
    return e.op("Sqrt", [var]) if node.op == "std" else var


rule("var", "std")(_moment)


@rule("take")
def _take(e, node, ins):
    x, ids = ins
    axis = node.attrs.get("axis")
    if axis is None:
        x, axis = e.op("Reshape", [x, e.const(np.asarray([-1], np.int64))]), 0
    return e.op("Gather", [x, e.cast(ids, None, "i64")], axis=int(axis))


@rule("take_along_axis")
def _take_along_axis(e, node, ins):
    return e.op("GatherElements", [ins[0], e.cast(ins[1], None, "i64")],
                axis=int(node.attrs["axis"]))


@rule("one_hot_like")
def _one_hot_like(e, node, ins):
    return one_hot(e, ins[0], int(node.inputs[1].type.shape[-1]), node.dtype)


@rule("outer")
def _outer(e, node, ins):
    a, b = (e.op("Reshape", [x, e.const(np.asarray([-1], np.int64))])
            for x in _as(e, node, ins))  # NumPy's outer flattens its inputs
    return e.op("Mul", [e.op("Unsqueeze", [a, e.const(np.asarray([1], np.int64))]),
                        e.op("Unsqueeze", [b, e.const(np.asarray([0], np.int64))])])


@rule("eye", "arange")
def _static(e, node, ins):
    kernel, attrs = node.opdef.kernel, dict(node.attrs)
    if any(not isinstance(v, (int, str, float)) for v in attrs.values()):
        from ..errors import TensorlangError
        raise TensorlangError("a size that is a symbolic dim has no ONNX form here")
    return e.op("Identity", [e.const(kernel(**attrs))])


@rule("index")
def _index(e, node, ins):
    """Basic indexing as one Slice (an int i is the slice [i, i + 1], squeezed), then Unsqueeze
    for the new axes (None)."""
    starts, ends, axes, steps, squeeze, new = [], [], [], [], [], []
    axis = out = 0
    for it in node.attrs["items"]:
        if it is None:
            new.append(out)
            out += 1
            continue
        if isinstance(it, tuple):
            _, start, stop, step = it
            edge = np.iinfo(np.int64).max if step > 0 else np.iinfo(np.int64).min
            starts.append(start)
            ends.append(edge if stop is None else stop)
            steps.append(step)
            out += 1
        else:
            starts.append(it)
            ends.append(it + 1)
            steps.append(1)
            squeeze.append(axis)
        axes.append(axis)
        axis += 1
    x = ins[0]
    if axes:
        x = e.op("Slice", [x, e.dims(starts), e.dims(ends), e.const(np.asarray(axes, np.int64)),
                           e.const(np.asarray(steps, np.int64))])
    if squeeze:
        x = e.op("Squeeze", [x, e.const(np.asarray(squeeze, np.int64))])
    if new:
        x = e.op("Unsqueeze", [x, e.const(np.asarray(new, np.int64))])
    return x if x != ins[0] else e.op("Identity", [x])


@rule("einsum")
def _einsum(e, node, ins):
    return e.op("Einsum", _as(e, node, ins), equation=node.attrs["spec"])


@rule("sort", "argsort")
def _sort(e, node, ins):
    """TopK of the whole axis, smallest first: ONNX breaks ties by index, a stable sort."""
    axis = int(node.attrs.get("axis", -1))
    rank = node.inputs[0].type.rank
    d = node.inputs[0].type.shape[axis % rank]
    k = e.const(np.asarray([d], np.int64)) if isinstance(d, int) else e.op(
        "Gather", [e.op("Shape", ins), e.const(np.asarray([axis % rank], np.int64))])
    values, indices = e.ops("TopK", [ins[0], k], 2, axis=axis, largest=0, sorted=1)
    return values if node.op == "sort" else e.cast(indices, "i64", node.dtype)


@rule("index_grad")
def _index_grad(e, node, ins):
    """g put back where basic indexing took it from, zeros elsewhere: the new axes squeezed
    out, the int-indexed axes put back, then Pad (unit-step slices only)."""
    from ..errors import TensorlangError
    shape, g = tuple(node.attrs["shape"]), ins[0]
    if all(isinstance(d, int) for d in shape):  # every place known: one scatter
        from ..ops.shape import _key
        places = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
        places = places[_key(places, node.attrs["items"])].reshape(-1)
        flat = e.const(np.asarray([-1], np.int64))
        zeros = e.const(np.zeros(int(np.prod(shape)), np_dtype(node.dtype)))
        out = e.op("ScatterElements", [zeros, e.const(places), e.op("Reshape", [g, flat])],
                   axis=0)
        return e.op("Reshape", [out, e.const(np.asarray(shape, np.int64))])
    new, ints, before, after = [], [], [], []
    axis = out = 0
    for it in node.attrs["items"]:
        if it is None:
            new.append(out)
            out += 1
            continue
        start, stop, step = (it[1], it[2], it[3]) if isinstance(it, tuple) else (it, it + 1, 1)
        if step != 1:
            raise TensorlangError("the gradient of a strided slice has no ONNX form")
        if not isinstance(it, tuple):
            ints.append(axis)
        else:
            out += 1
        before.append(start)
        after.append(shape[axis] - (shape[axis] if stop is None else stop))
        axis += 1
    before += [0] * (len(shape) - axis)
    after += [0] * (len(shape) - axis)
    if new:
        g = e.op("Squeeze", [g, e.const(np.asarray(new, np.int64))])
    if ints:
        g = e.op("Unsqueeze", [g, e.const(np.asarray(ints, np.int64))])
    return e.op("Pad", [g, e.dims(before + after)])
