from tensorlang.tools import fuzz
t = """graph g {
    variable w5: f32[3, 3] = uniform()
    v6 = mean(binary_cross_entropy(sigmoid(w5), sigmoid(w5)))
    v7 = det(w5)
    v8 = grad(sum(grad(sum(v7), w5) * grad(sum(v7), w5)), w5)
}
"""
import numpy as np
from tensorlang.compiler.program import compile
g = compile(t).graphs["g"]
names=["v6","v7","v8"]
r = fuzz._run_three_ways(g, names, {})
print(r[0][2]- r[2][2])
from tensorlang.runtime.session import Session
sess=Session(g)
plan=sess.plan(names)
for k,s in enumerate(plan.steps):
    print(k, s.node.op, s.ins, '->', s.out, 'donor', s.donor, 'free', s.free, s.node.type)
