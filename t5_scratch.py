from tensorlang.tools import fuzz
import sys
for s in map(int, sys.argv[1:]):
    print(s, fuzz.check(fuzz.generate(s), s))
    print(fuzz.minimize(fuzz.generate(s), s))
