import sys
from tensorlang.tools import fuzz
for e in sys.argv[1:]:
    t = "graph g {\n    placeholder x: f32[2]\n    placeholder i: i32[2]\n    a = %s\n}\n" % e
    print(e, '->', fuzz.check(t))
