from tensorlang.tools import fuzz
import sys
t = fuzz.generate(1855)
lines = t.splitlines()
# greedy line minimization
def bad(t):
    return any('differ' in p for p in fuzz.check(t, 1855))
i = 1
while i < len(lines) - 1:
    trial = lines[:i] + lines[i+1:]
    if bad("\n".join(trial) + "\n"):
        lines = trial
    else:
        i += 1
print("\n".join(lines)); print(fuzz.check("\n".join(lines)+"\n", 1855))
