import time, sys
import tensorlang as tl
from tensorlang.frontend.fmt import format_source
G = "graph g {\n%s\n}\n"
for label, body in [("neg 10000", "placeholder x: f32[2]\ny = " + "neg(" * 10000 + "x" + ")" * 10000),
                    ("neg 100000", "placeholder x: f32[2]\ny = " + "neg(" * 100000 + "x" + ")" * 100000),
                    ("paren 100000", "placeholder x: f32[2]\ny = " + "(" * 100000 + "x" + ")" * 100000),
                    ("sum 100000", "placeholder x: f32[2]\ny = " + " + ".join(["x"] * 100000)),
                    ("minus 100000", "placeholder x: f32[2]\ny = " + "-" * 100000 + "x"),
                    ]:
    t = time.time()
    try:
        p = tl.compile(G % body)
        print(label, "compiled", round(time.time() - t, 2))
    except tl.TensorlangError as e:
        print(label, "ERR", e.message[:100], e.span, round(time.time() - t, 2))
    except BaseException as e:
        print(label, "TRACEBACK", type(e).__name__, str(e)[:100])
    t = time.time()
    try:
        out = format_source(G % body)
        print("  fmt ok", round(time.time() - t, 2))
    except tl.TensorlangError as e:
        print("  fmt ERR", e.message[:100])
    except BaseException as e:
        print("  fmt TRACEBACK", type(e).__name__, str(e)[:100])
