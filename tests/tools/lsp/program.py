"""A small program and its analysis, shared by the tests of the language server's modules."""

from __future__ import annotations

TEXT = '''# Scales twice.
layer Twice(x: [..., In], units) {
    variable W: [In, units] = ones()
    return x @ W @ W
}

let k = 2 * 3

graph g {
    placeholder x: f32[N, 6]
    t = Twice(x, k)
    h = Dense(t, 2)
    s = sum(h)
}
data d {
    x = [[1, 2, 3, 4, 5, 6]]
}
train g {
    data = d
    minimize = s
}
'''
FILE = "/work/model.tl"
URI = "file:///work/model.tl"
LINES = TEXT.split("\n")


def analysed():
    """The analysis of TEXT (the compiler's view of the buffer)."""
    from tensorlang.tools.lsp.analysis import analyse
    return analyse(TEXT, FILE)


def place(needle: str, nth: int = 0, offset: int = 0) -> tuple[int, int]:
    """The 1-based (line, column) of the nth occurrence of needle in TEXT, plus offset."""
    at = -1
    for _ in range(nth + 1):
        at = TEXT.index(needle, at + 1)
    return TEXT.count("\n", 0, at) + 1, at - (TEXT.rfind("\n", 0, at) + 1) + 1 + offset
