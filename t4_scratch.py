from tensorlang.compiler.program import compile
from tensorlang.runtime.session import Session
for e in ["[1, 2, 3] * 2", "2 * [1, 2, 3]", "[1, 2] + [3, 4]", "[1, 2] / 0", "[[1], [2]] * 2.5", "[1, 2] + [1, 2, 3]", "[2.5] - 1", "[1,2] ** 2"]:
    t = f"let b = {e}\ngraph g {{\n    a = b\n    c = {e}\n}}\n"
    try:
        p = compile(t)
        s = Session(p.graphs["g"])
        print(e, p.lets["b"], s.run(["a", "c"]))
    except Exception as ex:
        print(e, type(ex).__name__, ex)
