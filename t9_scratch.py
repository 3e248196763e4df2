import time, sys
import tensorlang as tl
from tensorlang.tools.render_layout import layout
from tensorlang.tools.cli.common import with_gradient
L = int(sys.argv[1])
lines = ["graph g {", "    placeholder x: f32[N, 4]", "    placeholder y: f32[N, 1]", "    h0 = x"]
for i in range(1, L + 1):
    lines.append(f"    h{i} = Dense(h{i-1}, 4, activation = tanh)")
lines += [f"    p = Dense(h{L}, 1)", "    loss = mse(p, y)", "}"]
lines += ["data d {", "    x = [[1, 2, 3, 4]]", "    y = [[1]]", "}", "train g {", "    data = d", "    minimize = loss", "    optimizer = sgd(lr = 0.1)", "    epochs = 1", "}"]
open("/tmp/stack.tl", "w").write("\n".join(lines) + "\n")
p = tl.load("/tmp/stack.tl")
g = p.graphs["g"]
from tensorlang.transforms.autodiff import gradients
t = time.time()
import argparse
gb = with_gradient(p, g)
print("backward graph nodes", len(gb.nodes), time.time() - t)
for collapse in (False, True):
    t = time.time()
    d = layout(gb, collapse=collapse)
    print("collapse", collapse, "drawn", len(d.nodes), "edges", len(d.edges), round(time.time() - t, 2))
from tensorlang.tools.render import format_dot
import subprocess
for collapse in (True, False):
    src = format_dot(layout(gb, collapse=collapse))
    t = time.time()
    try:
        subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True, timeout=120)
        print("dot", collapse, round(time.time() - t, 1))
    except subprocess.TimeoutExpired:
        print("dot timed out", collapse)
