import numpy as np, os, tempfile, stat
from tensorlang.runtime import checkpoint
d = tempfile.mkdtemp()
p = os.path.join(d, "m.npz")
arrs = {"file": np.arange(3.0), "allow_pickle": np.ones(2, np.float32), "opt/m": np.zeros((2,2)), "x": np.array(3)}
checkpoint.save(p, arrs, meta={"a": 1})
ck = checkpoint.read(p)
print({k: v.tolist() for k, v in ck.arrays.items()}, ck.meta)
with np.load(p) as z: print(z.files)
print(oct(stat.S_IMODE(os.stat(p).st_mode)))
os.chmod(p, 0o640); checkpoint.save(p, arrs); print(oct(stat.S_IMODE(os.stat(p).st_mode)))
src = os.path.join(d, "model.npz.txt")
for target in ["/dev/null", d, os.path.join(d, "prog.tl")]:
    try: checkpoint.save(target, arrs)
    except Exception as e: print(type(e).__name__, e)
q = os.path.join(d, "text.npz"); open(q, "w").write("hello")
try: checkpoint.save(q, arrs)
except Exception as e: print(type(e).__name__, e)
