import numpy as np, traceback, sys
import tensorlang as tl
from tensorlang.runtime.session import Session
def tryit(label, text, fetch=None, feed=None, run=False):
    try:
        p = tl.compile(text)
        if run:
            r = p.run(quiet=True) if False else p.run()
            print(label, "RUN OK", str(r)[:200])
        elif fetch:
            print(label, "->", Session(p.graphs["g"]).run(fetch, feed or {}))
        else:
            print(label, "compiled")
    except tl.TensorlangError as e:
        print(label, "ERR:", e.message[:150])
    except BaseException as e:
        print(label, "TRACEBACK", type(e).__name__, str(e)[:150])
G = "graph g {\n%s\n}\n"
tryit("sxe huge", G % "placeholder z: f32[1, 3]\nplaceholder y: f32[1, 3]\nl = softmax_cross_entropy(z, y)", "l", {"z": np.array([[2e38, -2e38, 0]], np.float32), "y": np.array([[0, 1, 0]], np.float32)})
tryit("sxe huge ids", G % "placeholder z: f32[1, 3]\nplaceholder y: i32[1]\nl = softmax_cross_entropy(z, y)", "l", {"z": np.array([[2e38, -2e38, 0]], np.float32), "y": np.array([1], np.int32)})
tryit("one_hot oor", G % "placeholder i: i32[2]\nl = one_hot(i, 3)", "l", {"i": np.array([1, 5], np.int32)})
tryit("trace i32", G % "placeholder a: i32[2, 2]\nl = trace(a)\ns = sum(a)", ["l", "s"], {"a": np.ones((2, 2), np.int32)})
tryit("u8/256", G % "placeholder a: u8[2]\nl = a / 256", "l", {"a": np.array([1, 255], np.uint8)})
tryit("u8+256", G % "placeholder a: u8[2]\nl = a + 256", "l", {"a": np.array([1, 255], np.uint8)})
tryit("huge var", G % "variable W: f32[10**12, 10**12] = zeros()")
tryit("big var", G % "variable W: f32[50000, 50000] = zeros()")
tryit("10**100000", "let a = 10 ** 100000\n" + G % "")
tryit("500 sum", G % ("placeholder x: f32[2]\ny = " + " + ".join(["x"] * 500)))
tryit("5000 sum", G % ("placeholder x: f32[2]\ny = " + " + ".join(["x"] * 5000)))
tryit("100000 sum", G % ("placeholder x: f32[2]\ny = " + " + ".join(["x"] * 100000)))
tryit("nest calls", G % ("placeholder x: f32[2]\ny = " + "neg(" * 5000 + "x" + ")" * 5000))
tryit("nest paren", G % ("placeholder x: f32[2]\ny = " + "(" * 10000 + "x" + ")" * 10000))
tryit("nest lists", G % ("y = " + "[" * 5000 + "1" + "]" * 5000))
tryit("nest T", G % ("placeholder x: f32[2,2]\ny = x" + ".T" * 5000))
tryit("nest pow", G % ("placeholder x: f32[2]\ny = " + " ** ".join(["x"] * 5000)))
tryit("1/0 const", G % "y = [1, 2] / 0", "y")
tryit("log0 const", G % "y = log(0)", "y")
tryit("int div 0", G % "placeholder a: i32[2]\ny = a // 0", "y", {"a": np.array([1, 2], np.int32)})
tryit("normal std -1", G % "variable W: f32[2] = normal(std = -1)", "W")
tryit("glorot zero", G % "variable W: f32[0, 3] = glorot_uniform()", "W")
tryit("adam bad", G % "placeholder x: f32[N, 1]\nvariable w: f32[1] = zeros()\nl = mean(x * w)" + "\ndata d {\n x = [[1], [2]]\n}\ntrain g {\n data = d\n minimize = l\n optimizer = adam(beta1 = 5, eps = 0)\n epochs = 1\n}\n", run=True)
tryit("neg seed", G % "placeholder x: f32[N, 1]\nvariable w: f32[1] = zeros()\nl = mean(x * w)" + "\ndata d {\n x = [[1], [2]]\n}\ntrain g {\n data = d\n minimize = l\n optimizer = sgd(lr = 0.1)\n epochs = 1\n seed = -1\n}\n", run=True)
tryit("det grad singular", G % "placeholder a: f64[2, 2]\nd = det(a)\ng2 = grad(d, a)", "g2", {"a": np.array([[1., 2.], [2., 4.]])})
tryit("eye N", G % "placeholder x: f32[N]\ne = eye(N)\nr = arange(N)", ["e", "r"], {"x": np.ones(3, np.float32)})
try:
    p = tl.compile(G % "placeholder x: f32[2]\ny = x + 1")
    Session(p.graphs["g"]).run("y", [1, 2])
except TypeError as e: print("feed list TypeError", e)
except tl.TensorlangError as e: print("feed list ERR", e.message)
except BaseException as e: print("feed list TRACEBACK", type(e).__name__, e)
