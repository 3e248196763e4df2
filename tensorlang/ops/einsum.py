"""einsum(spec, a, b, ...): NumPy's subscripts (explicit `->` or implicit, `...` for leading
dims), shape-checked with symbolic dims, with gradients that are einsums again (so gradients of
gradients work). `prepare` rewrites the spec in its explicit form without `...`, which is what
the node stores and the kernel, the gradient and the printer use."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import FRESH, defop
from ..ir.types import TensorType, promote

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # string.ascii_letters


def parse(spec: str, ranks: list[int]) -> tuple[list[str], str]:
    """(the subscripts of each operand, of the output), explicit and without `...`."""
    if not isinstance(spec, str) or not spec.replace(" ", ""):
        raise OpError("the spec must be a string of subscripts like \"ij,jk->ik\"")
    spec = spec.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    if "->" in rhs or (arrow and "-" in rhs) or "-" in lhs or ">" in lhs:
        raise OpError(f'malformed spec "{spec}": one "->" at most, between inputs and output')
    inputs = lhs.split(",")
    if len(inputs) != len(ranks):
        raise OpError(f'the spec "{spec}" has {len(inputs)} operand'
                      f"{'s' if len(inputs) != 1 else ''}, the call gives {len(ranks)}")
    used = set(lhs + rhs) & set(LETTERS)
    free = [c for c in LETTERS if c not in used]
    widest = max((r - len(s.replace("...", "")) for s, r in zip(inputs, ranks) if "..." in s),
                 default=0)
    lead = "".join(free[:widest])
    subs = [_operand(s, r, lead, spec) for s, r in zip(inputs, ranks)]
    if arrow:
        out = _explicit_output(rhs, lead, subs, spec)
    else:
        counts = {c: sum(s.count(c) for s in subs) for c in set("".join(subs))}
        out = lead + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in lead))
    return subs, out


def _operand(s: str, rank: int, lead: str, spec: str) -> str:
    if s.count("...") > 1 or any(c not in LETTERS for c in s.replace("...", "")):
        raise OpError(f'malformed spec "{spec}": subscripts are letters, with one "..." at most '
                      "an operand")
    named = len(s.replace("...", ""))
    if ("..." not in s and named != rank) or named > rank:
        raise OpError(f'the subscripts "{s}" name {named} dims, the operand has {rank}')
    return s.replace("...", lead[len(lead) - (rank - named):] if rank > named else "")


def _explicit_output(rhs: str, lead: str, subs: list[str], spec: str) -> str:
    if rhs.count("...") > 1 or any(c not in LETTERS for c in rhs.replace("...", "")):
        raise OpError(f'malformed spec "{spec}": the output subscripts are letters')
    out = rhs.replace("...", lead)
    seen = set("".join(subs))
    for c in out:
        if c not in seen:
            raise OpError(f'the output subscript "{c}" appears in no operand')
        if out.count(c) > 1:
            raise OpError(f'the output subscript "{c}" appears twice')
    return out


def _prepare(types, spec):
    subs, out = parse(spec, [t.rank for t in types])
    return {"spec": ",".join(subs) + "->" + out}


def _infer(types, spec):
    lhs, out = spec.split("->")
    sizes: dict[str, tuple] = {}
    for k, (s, t) in enumerate(zip(lhs.split(","), types)):
        for c, d in zip(s, t.shape):
            if c in sizes and not D.equal(sizes[c][0], d):
                first, j = sizes[c]
                raise OpError(f'subscript "{c}" is {D.dim_str(first)} in operand {j} '
                              f"({types[j]}) but {D.dim_str(d)} in operand {k} ({t})")
            sizes.setdefault(c, (d, k))
    dtype = promote(*types)
    if dtype == "bool":
        raise OpError("einsum needs numeric tensors, not bool")
    return TensorType(dtype, tuple(sizes[c][0] for c in out))


def _einsum(*operands, spec):
    dtype = np.result_type(*operands)
    out = np.asarray(np.einsum(spec, *operands, optimize=len(operands) > 2)).astype(
        dtype, copy=False)
    if any(np.may_share_memory(out, x) for x in operands):  # "ij->ji" is a view: copy it
        out = out.copy()
    return out


def _g_einsum(b, n, g):
    """The gradient of operand k: the einsum of g with the other operands down to k's
    subscripts; dims only operand k has are summed in the forward, so g broadcasts along them."""
    lhs, out = n.attrs["spec"].split("->")
    subs = lhs.split(",")
    grads = []
    for k, (s, x) in enumerate(zip(subs, n.inputs)):
        if len(set(s)) < len(s):
            raise OpError(f'the gradient of einsum "{n.attrs["spec"]}" with a repeated subscript '
                          "in one operand (a diagonal) is not supported")
        others = [(t, y) for j, (t, y) in enumerate(zip(subs, n.inputs)) if j != k]
        reach = set(out).union(*(set(t) for t, _ in others))
        kept = "".join(c for c in s if c in reach)
        spec = ",".join([out] + [t for t, _ in others]) + "->" + kept
        gk = b.op("einsum", g, *(y for _, y in others), spec=spec)
        if kept != s:
            missing = tuple(i for i, c in enumerate(s) if c not in reach)
            gk = b.op("broadcast_to", b.op("expand_dims", gk, axis=missing),
                      shape=tuple(x.type.shape))
        grads.append(gk)
    return tuple(grads)


SPECS = [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
         ("i,i->", [(5,), (5,)]), ("ij->ji", [(2, 3)]), ("ij->i", [(3, 4)]),
         ("ij,kj", [(2, 3), (4, 3)]), ("...ij,jk->...ik", [(2, 2, 3), (3, 2)]),
         ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 4)]), ("i,j->ij", [(3,), (2,)])]


def _cases(rng):
    return [([rng.normal(size=s) for s in shapes], {"spec": spec}) for spec, shapes in SPECS]


defop("einsum", "spec: str, *operands: tensors", prepare=_prepare, infer=_infer, kernel=_einsum,
      grad=_g_einsum, promote=(), family="einsum", memory=FRESH, cases=_cases,
      doc="NumPy's einsum over the operands, spec like \"ij,jk->ik\" (with gradients)")
