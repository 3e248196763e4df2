import glob, collections, time, traceback, warnings
from tensorlang.tools import fuzz
from tensorlang.compiler.program import compile as C
from tensorlang.frontend.fmt import format_source
from tensorlang.errors import TensorlangError
texts = [open(f).read() for f in sorted(glob.glob("examples/*.tl"))]
bad = collections.Counter(); ex = {}
t = time.time()
for s in range(1500):
    src = texts[s % len(texts)]
    m = fuzz.mutate(src, s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (lambda: C(m, "examples/x.tl"), lambda: format_source(m)):
            try: fn()
            except TensorlangError: pass
            except Exception as e:
                k = type(e).__name__ + ": " + str(e)[:80]
                bad[k] += 1; ex.setdefault(k, (s, traceback.format_exc()[-600:]))
print(time.time() - t, bad.most_common(10))
for k, (s, tb) in list(ex.items())[:4]: print(s, tb)
