"""Reference for einsum: explicit loops over every index combination (independent of np.einsum)."""

import itertools

import numpy as np


def _einsum(*operands, spec):
    lhs, _, out = spec.partition("->")
    subs = lhs.split(",")
    if "->" not in spec:  # implicit: the letters that appear once, in alphabetical order
        out = "".join(sorted(c for c in set(lhs) - {","} if lhs.count(c) == 1))
    if "..." in spec:  # one leading "..." of rank r: letters A, B, ... for it
        rank = max(x.ndim - len(s.replace("...", "")) for s, x in zip(subs, operands))
        lead = "ABCDEFGH"[:rank]
        subs = [s.replace("...", lead[rank - (x.ndim - len(s) + 3):]) if "..." in s else s
                for s, x in zip(subs, operands)]
        out = out.replace("...", lead)
    sizes = {}
    for s, x in zip(subs, operands):
        sizes.update(zip(s, x.shape))
    letters = sorted(sizes)
    result = np.zeros(tuple(sizes[c] for c in out))
    for values in itertools.product(*(range(sizes[c]) for c in letters)):
        at = dict(zip(letters, values))
        term = 1.0
        for s, x in zip(subs, operands):
            term *= x[tuple(at[c] for c in s)]
        result[tuple(at[c] for c in out)] += term
    return result


REFERENCES = {"einsum": _einsum}
