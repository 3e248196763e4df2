"""tools/fuzz_programs.py: the fuzzer's programs are deterministic, mostly well typed (so the
run-time oracles bite), varied, and their mutants are damaged but deterministic too."""

from __future__ import annotations

import collections

from tensorlang.compiler.program import compile as compile_program
from tensorlang.errors import TensorlangError
from tensorlang.tools.fuzz_programs import generate, mutate


def test_programs_are_deterministic_and_mostly_compile():
    assert generate(7) == generate(7) and generate(7) != generate(8)
    compiled = 0
    for seed in range(200):
        try:
            compile_program(generate(seed))
            compiled += 1
        except TensorlangError:
            pass
    assert compiled > 100


def test_programs_use_much_of_the_language():
    words = collections.Counter()
    for seed in range(300):
        text = generate(seed)
        for word in ("grad(", "@", "softmax_cross_entropy", "cross_entropy(softmax", "Dense(",
                     "let ", "constant ", "variable ", "transpose(", "order = \"F\"", "where(",
                     "dropout(", "one_hot(", "keepdims = true", "det(", "cast("):
            words[word] += word in text
    assert all(words[w] >= 3 for w in words), words


def test_mutants_are_deterministic_and_different():
    text = generate(3)
    assert mutate(text, 1) == mutate(text, 1)
    assert sum(mutate(text, s) != text for s in range(50)) >= 45
