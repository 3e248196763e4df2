"""A whole compiled program: lets (with overrides), layers (the prelude and the user's), graphs,
data blocks and checked run blocks. `compile` and `load` are the entry points; the public API
(tensorlang.api) adds running to what they return."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
from collections.abc import Mapping

from ..errors import NamingError, ProgramError, UsageError, did_you_mean, with_deep_stack
from ..frontend import syntax as S
from ..frontend.parser import parse, parse_cached
from ..ir.graph import Graph
from ..records import field, record
from ..source import name_span
from ..transforms.autodiff import disconnected_warnings
from .blocks import RunSpec, check_run
from .datablocks import check_field
from .lower import MODE, GraphLowering
from .static import evaluate


@functools.cache
def prelude() -> S.Program:
    """The standard layers (Dense, Conv2D, SimpleRNN), parsed once."""
    # beside this module (importlib.resources would cost 15 ms of imports at every start)
    with open(os.path.join(os.path.dirname(__file__), "prelude.tl"), encoding="utf-8") as f:
        text = f.read()
    return parse_cached(text, "<prelude>")


def parse_override(text: str):
    """A `--set NAME=VALUE` value: an int, a float, true/false, or else a string."""
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


@record(frozen=False)
class CompiledProgram:
    """A compiled program: `graphs[name]` are shape-checked Graphs, `runs` the checked
    train/evaluate blocks in file order."""

    syntax: S.Program
    file: str
    lets: dict
    graphs: dict[str, Graph]
    data: dict[str, S.DataDef]
    runs: list[RunSpec]
    warnings: list = field(default_factory=list)
    # graph name -> the graph compiled in training mode (`training` true), made when first asked
    training_graphs: dict[str, Graph] = field(default_factory=dict)
    sources: dict = field(default_factory=dict, repr=False)  # graph -> (syntax, lets, layers)

    def training_graph(self, name: str) -> Graph:
        """Graph `name` as a train block's step sees it: compiled with `training` true (dropout
        drops, batch norm uses the batch's statistics and updates its running ones)."""
        if name not in self.training_graphs:
            item, lets, layers = self.sources[name]
            self.training_graphs[name] = GraphLowering(item, lets, layers, training=True).lower()
        return self.training_graphs[name]

    @property
    def base_dir(self) -> str:
        """The folder data paths are relative to (the .tl file's)."""
        return os.path.dirname(os.path.abspath(self.file)) if os.path.exists(self.file) \
            else os.getcwd()


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while compiling: the parse tree and the graph are
    hundreds of thousands of long-lived objects that it would otherwise re-walk again and again
    (compile time grew faster than linearly); what it would collect is freed after, as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def compile(text: str, file: str = "<string>", overrides: dict | None = None) -> CompiledProgram:
    """Parse and compile a program's text (on a deep stack: see errors.with_deep_stack)."""
    _check_types("compile", text=(text, str), file=(file, str))
    if overrides is not None and not isinstance(overrides, Mapping):
        raise TypeError(f"compile: overrides must be a dict of let names to values, not "
                        f"{type(overrides).__name__}")
    with _gc_paused():
        return with_deep_stack(lambda: compile_syntax(parse(text, file), file, overrides))


def _check_types(where: str, **args) -> None:
    """A TypeError naming the first argument that is not of its type (the API's arguments)."""
    for name, (value, kind) in args.items():
        if not isinstance(value, kind):
            raise TypeError(f"{where}: {name} must be a {kind.__name__}, not "
                            f"{type(value).__name__}")


def load(path: str, overrides: dict | None = None) -> CompiledProgram:
    """Read, parse and compile a .tl file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load: path must be a str or a path, not {type(path).__name__}")
    path = os.fspath(path)
    if "\0" in str(path):
        raise UsageError(f"no such file: {path!r} (a path has no NUL characters)")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    return compile(text, path, overrides)


def compile_syntax(prog: S.Program, file: str, overrides: dict | None = None) -> CompiledProgram:
    """Compile a parsed program: every graph in inference mode, and in training mode those a
    train block trains."""
    overrides = _checked_overrides(prog, overrides)
    layers = _layers(prog)
    lets: dict = {}
    graphs: dict[str, Graph] = {}
    data: dict[str, S.DataDef] = {}
    blocks: list[S.RunBlock] = []
    sources: dict = {}
    seen: dict = {"let": {}, "graph": {}}
    for item in prog.items:
        if isinstance(item, S.Let):
            _let(item, lets, overrides, seen["let"])
        elif isinstance(item, S.GraphDef):
            _unique(item.name, name_span(item.span, "graph", item.name), seen["graph"], "graph")
            graphs[item.name] = GraphLowering(item, lets, layers).lower()
            sources[item.name] = (item, dict(lets), layers)  # the lets it saw, in file order
        elif isinstance(item, S.DataDef):
            _data(item, lets, data)
        elif isinstance(item, S.RunBlock):
            blocks.append(item)
    runs = [check_run(b, graphs, data, lets) for b in blocks]
    program = CompiledProgram(prog, file, lets, graphs, data, runs, sources=sources)
    trained = {spec.graph: program.training_graph(spec.graph) for spec in runs
               if spec.kind == "train"}
    program.warnings = [w for g in graphs.values() for w in g.warnings]
    # variables a train block cannot reach (in the mode it trains in)
    program.warnings += disconnected_warnings({**graphs, **trained}, runs)
    return program


def _checked_overrides(prog: S.Program, overrides: dict | None) -> dict:
    """The --set values, each naming a let of the program (checked before anything compiles:
    a mistyped --set must not surface as a shape error)."""
    overrides = dict(overrides or {})
    let_names = [item.name for item in prog.items if isinstance(item, S.Let)]
    unknown = [name for name in overrides if name not in let_names]
    if unknown:
        raise UsageError(f'--set {unknown[0]}: the program has no "let {unknown[0]}"',
                         hint=did_you_mean(unknown[0], let_names) or
                         (f"its let constants: {', '.join(let_names)}" if let_names else None))
    return overrides


def _layers(prog: S.Program) -> dict:
    """The prelude's layers and the program's (a graph may use a layer defined further down)."""
    layers: dict = {ld.name: ld for ld in prelude().items if isinstance(ld, S.LayerDef)}
    user_layers: dict = {}
    for item in prog.items:
        if isinstance(item, S.LayerDef):
            if not item.name[:1].isupper():
                raise ProgramError(f'layer names start with a capital letter: "{item.name}"',
                                   name_span(item.span, "layer", item.name),
                                   hint=f'call it "{item.name[:1].upper()}{item.name[1:]}"; '
                                   "lower-case names are ops")
            _unique(item.name, name_span(item.span, "layer", item.name), user_layers, "layer")
            layers[item.name] = item
    return layers


def _let(item: S.Let, lets: dict, overrides: dict, seen: dict) -> None:
    if item.name == MODE:
        raise NamingError(f'"{MODE}" is the compile-time mode flag; a let cannot be named so',
                          item.span, hint="pick another name")
    _unique(item.name, item.span, seen, "let constant")
    value = evaluate(item.value, lets)
    if item.name in overrides:
        value = _override(item, value, overrides.pop(item.name))
    lets[item.name] = value


def _data(item: S.DataDef, lets: dict, data: dict) -> None:
    _unique(item.name, name_span(item.span, "data", item.name), data, "data block")
    fields: dict = {}
    for f in item.fields:
        _unique(f.name, f.span, fields, "field")
        check_field(f, lets)
    data[item.name] = item


def _unique(name: str, span, seen: dict, what: str) -> None:
    if name in seen:
        first = seen[name]
        first_span = getattr(first, "span", first)
        raise NamingError(f'{what} "{name}" is already defined', span,
                         notes=((f'"{name}" was first defined here', first_span),))
    seen[name] = span


def _override(item: S.Let, value, new):
    """The value of `--set NAME=new` for `let NAME = value`, of the same kind as value."""
    note = ((f'"{item.name}" is defined here', item.span),)
    kinds = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if type(value) not in kinds:
        raise UsageError(f"--set {item.name}: only a let bound to a number, true/false or a "
                         f"string can be set from the command line", notes=note)
    if isinstance(value, str) and isinstance(new, str):
        return new  # taken verbatim: `--set name=1e3` is the string "1e3"
    if isinstance(new, str):
        new = parse_override(new)
    if isinstance(value, bool) != isinstance(new, bool) or (
            isinstance(value, (int, float)) and not isinstance(new, (int, float))):
        raise UsageError(f'--set {item.name}: "{_show(new)}" is not {kinds.get(type(value))}, '
                         f"like the value it replaces ({_show(value)})", notes=note)
    if isinstance(value, int) and isinstance(new, float) and not isinstance(value, bool):
        if not new.is_integer():
            raise UsageError(f"--set {item.name}: expected an integer like the value it replaces "
                             f"({value}), got {new}", notes=note)
        new = int(new)
    if isinstance(value, float) and not isinstance(new, bool):
        new = float(new)
    if isinstance(value, str) and not isinstance(new, str):
        new = str(new)
    return new


def _show(v) -> str:
    """A value as the language writes it."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)
