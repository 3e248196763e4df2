"""The one keyword binder: a call's positional and keyword arguments matched to parameter
names, for ops, layers, `grad`, initializers, optimizers, schedules and loaders alike; and the
parameters of a function that is its own signature (an optimizer, an initializer, a loader)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from ..errors import ProgramError, did_you_mean

REQUIRED = inspect.Parameter.empty


def bind(what: str, params: Sequence[str], args, kwargs, span) -> dict:
    """{parameter name: argument expression} for `what(args, k = v)`; a located ProgramError for
    too many arguments, an unknown keyword (with a did-you-mean) or one given twice."""
    params = list(params)
    if len(args) > len(params):
        raise ProgramError(f"{what} takes at most {len(params)} argument"
                           f"{'s' if len(params) != 1 else ''}, got {len(args)}",
                           args[len(params)].span)
    bound = dict(zip(params, args))
    for k in kwargs:
        if k.name not in params:
            raise ProgramError(f'{what} has no argument "{k.name}"', k.span,
                               hint=did_you_mean(k.name, params) or
                               (f"its arguments: {', '.join(params)}" if params
                                else "it takes no arguments"))
        if k.name in bound:
            raise ProgramError(f'{what} got "{k.name}" twice', k.span)
        bound[k.name] = k.value
    return bound


def parameters(fn: Callable, skip: int = 0, exclude: Sequence[str] = ()) -> dict:
    """{name: default (REQUIRED when none)} of fn's parameters after the first `skip` ones, in
    order, leaving out `exclude` and keyword-only ones: a function's signature is its table."""
    out = {}
    for k, p in enumerate(inspect.signature(fn).parameters.values()):
        if k < skip or p.name in exclude or p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD,
                                                         p.VAR_POSITIONAL):
            continue
        out[p.name] = p.default
    return out
