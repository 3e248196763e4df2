"""The house rules, checked on the source: the package's folders are stages in pipeline order, and
no module imports a later stage (imports inside functions count), nor takes part in an import
cycle. The one sanctioned exception is a Graph drawing itself in Jupyter (`Graph._repr_svg_`
imports the renderer lazily, as JAX's `Jaxpr.__str__` imports its printer)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tensorlang"
STAGES = ("records", "source", "errors", "files", "frontend", "ir", "ops", "transforms",
          "compiler", "runtime", "training", "tools")
TOP = ("tensorlang", "tensorlang.__main__", "tensorlang.entry", "tensorlang.api")  # on top
SANCTIONED = {("tensorlang.ir.graph", "tensorlang.tools.render")}


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking_only(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(name: str, path: Path, known: dict) -> set[str]:
    """The package modules that `name` imports anywhere in its text (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tensorlang")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("tensorlang"):
                target = node.module
            else:
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & known.keys()
            found |= subs or {target}
            if len(subs) < len(node.names):
                found.add(target)
    return {m for m in found if m in known and m != name}


def stage(name: str) -> int | None:
    """The pipeline position of a module (None for the public API on top)."""
    if name in TOP:
        return None
    return STAGES.index(name.split(".")[1])


def graph() -> dict[str, set[str]]:
    """module -> the modules it imports, without the sanctioned edge."""
    known = modules()
    return {m: imports(m, p, known) - {b for a, b in SANCTIONED if a == m}
            for m, p in known.items()}


def test_every_module_lies_in_a_stage():
    for m in modules():
        assert m in TOP or m.split(".")[1] in STAGES, f"{m} is in no stage folder"


def test_no_module_imports_a_later_stage():
    back = [(a, b) for a, deps in graph().items() for b in deps
            if stage(a) is not None and (stage(b) is None or stage(b) > stage(a))]
    assert not back, "imports against the pipeline:\n" + "\n".join(f"  {a} -> {b}"
                                                                    for a, b in sorted(back))


def test_no_import_cycles():
    edges = graph()
    cycles, index, low, stack, on, count = [], {}, {}, [], set(), [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = count[0]
        count[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join("  " + " <-> ".join(c) for c in cycles)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "tensorlang"
    (pkg / "ir").mkdir(parents=True)
    (pkg / "tools").mkdir()
    for f in ("__init__.py", "ir/__init__.py", "tools/__init__.py", "tools/render.py"):
        (pkg / f).write_text("")
    (pkg / "ir" / "graph.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..tools import x\n"
        "def f():\n    from ..tools.render import draw\n")
    known = {"tensorlang.ir.graph": pkg / "ir" / "graph.py",
             "tensorlang.tools.render": pkg / "tools" / "render.py",
             "tensorlang.tools": pkg / "tools" / "__init__.py"}
    assert imports("tensorlang.ir.graph", known["tensorlang.ir.graph"], known) == {
        "tensorlang.tools.render"}


MAX_LINES = 50


def test_functions_are_short_or_say_why():
    """No function over MAX_LINES lines unless a `# long: why` comment inside says why."""
    long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = lines[node.lineno - 1:node.end_lineno]
                if len(body) > MAX_LINES and not any(x.strip().startswith("# long:")
                                                      for x in body):
                    long.append(f"{name}.{node.name}: {len(body)} lines")
    assert not long, "functions over 50 lines without a reason:\n" + "\n".join(long)


def test_every_benchmark_imports():
    """`make bench` is not run by the suite; its modules must at least import."""
    import importlib
    import pkgutil
    bench = PACKAGE.parent / "benchmarks"
    for m in pkgutil.iter_modules([str(bench)]):
        importlib.import_module(f"benchmarks.{m.name}")


TESTS = PACKAGE.parent / "tests"


def missing_test_files(package: Path = PACKAGE, tests: Path = TESTS) -> list[str]:
    """The package's modules without a test file of their own, tests mirroring the folders:
    `a/b.py` needs `tests/a/test_b.py` (`__main__.py`: `test_main.py`); a package's
    `a/c/__init__.py` needs `tests/a/test_c.py` or some `tests/a/c/test_*.py`."""
    missing = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.name == "__init__.py":
            ok = (tests / rel.parent.parent / f"test_{rel.parent.name}.py").is_file() or \
                any((tests / rel.parent).glob("test_*.py"))
        else:
            ok = (tests / rel.parent / f"test_{rel.stem.strip('_')}.py").is_file()
        if not ok:
            missing.append(rel.as_posix())
    return missing


def test_every_module_has_a_test_file():
    missing = missing_test_files()
    assert not missing, "modules without a test file of their own (tests/<folder>/test_<module>" \
                        ".py):\n" + "\n".join(f"  tensorlang/{m}" for m in missing)


def test_the_test_file_check_follows_the_folders(tmp_path):
    pkg, tests = tmp_path / "tensorlang", tmp_path / "tests"
    for f in ("__init__.py", "__main__.py", "api.py", "ir/__init__.py", "ir/graph.py",
              "ir/dims.py", "tools/__init__.py", "tools/cli/__init__.py", "tools/cli/run.py"):
        (pkg / f).parent.mkdir(parents=True, exist_ok=True)
        (pkg / f).write_text("")
    for f in ("test_main.py", "ir/test_graph.py", "test_dims.py", "tools/cli/test_run.py"):
        (tests / f).parent.mkdir(parents=True, exist_ok=True)
        (tests / f).write_text("")
    # test_dims.py is in the wrong folder; the packages ir/ and cli/ count through the test files
    # in their folders, tools/ has none of its own (a subfolder's do not count)
    assert missing_test_files(pkg, tests) == ["api.py", "ir/dims.py", "tools/__init__.py"]
