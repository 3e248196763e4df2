"""A Pygments lexer for .tl files, registered through the `pygments.lexers` entry point (name
`tensorlang`, files `*.tl`), so `pygmentize -l tensorlang FILE`, Sphinx, Jupyter and rich
highlight tensorlang: keywords, types with their dims (`f32[N, 2]`), ops, layers, numbers,
strings and comments.

The word lists come from the compiler: the grammar's keywords and dtypes, the op registry (the
ops a program may call by name), the initializers, optimizers and loaders. A keyword or an op
added to the compiler is highlighted without an edit here (tests/tools/test_lexer.py checks the
keywords against the parser's own reserved words). Layers are the capitalized names that are
called (`Dense(`), as the language says layer names start with a capital letter."""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, include, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from ..compiler.calls import BUILTIN_FUNCS
from ..compiler.datablocks import LOADERS
from ..compiler.lower import MODE
from ..frontend.grammar import DTYPES, ITEM_KEYWORDS, KEYWORDS
from ..ops import REGISTRY
from ..ops.initializers import INITIALIZERS
from ..transforms.optimizers import OPTIMIZERS

CONSTANTS = ("true", "false")
OPS = tuple(sorted(n for n, op in REGISTRY.items() if not op.internal and not op.fused))
BUILTINS = tuple(sorted((set(INITIALIZERS) | set(OPTIMIZERS) | set(LOADERS)
                         | set(BUILTIN_FUNCS)) - set(OPS)))
RESERVED = tuple(k for k in KEYWORDS if k not in CONSTANTS)
HEADERS = tuple(k for k in ITEM_KEYWORDS if k not in ("let", "layer"))
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class TensorlangLexer(RegexLexer):
    """Highlights tensorlang (.tl) programs."""

    name = "tensorlang"
    aliases = ["tensorlang"]
    filenames = ["*.tl"]
    mimetypes = ["text/x-tensorlang"]

    tokens = {
        "root": [
            (r"[ \t\f\r\n]+", Whitespace),
            (r"#.*?$", Comment.Single),
            (r'"', String.Double, "string"),
            (rf"(layer)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (rf"({'|'.join(HEADERS)})([ \t]+)({_NAME})",
             bygroups(Keyword.Declaration, Whitespace, Name.Namespace)),
            (r"(data)(?=\s*=[^=])", Name.Attribute),  # the `data = NAME` key of a run block
            (words(DTYPES, suffix=r"(\s*)(\[)"), bygroups(Keyword.Type, Whitespace, Punctuation),
             "dims"),
            (r"(:)(\s*)(\[)", bygroups(Punctuation, Whitespace, Punctuation), "dims"),
            include("words"),
            (r"\.\.\.|\*\*|//|==|!=|<=|>=|[-+*/%@<>=?]", Operator),
            (r"[\[\](){},.:]", Punctuation),
        ],
        "words": [
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(RESERVED, suffix=r"\b"), Keyword),
            (words(DTYPES, suffix=r"\b"), Keyword.Type),
            (words(OPS, prefix=r"(?<![.\w])", suffix=r"\b"), Name.Builtin),
            (words(BUILTINS, prefix=r"(?<![.\w])", suffix=r"\b"), Name.Builtin),
            (rf"(?<![.\w]){MODE}\b", Name.Builtin.Pseudo),  # the compile-time mode flag
            (r"[A-Z][A-Za-z0-9_]*(?=\s*\()", Name.Class),
            (_NAME, Name),
            (r"(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|\d+[eE][+-]?\d+", Number.Float),
            (r"\d+", Number.Integer),
        ],
        "dims": [  # inside the brackets of a type: sizes, symbolic dims, `?` and `...`
            (r"[ \t\f\r\n]+", Whitespace),
            (r"\]", Punctuation, "#pop"),
            (r"\.\.\.|\?|//|[-+*]", Operator),
            (r"[(),]", Punctuation),
            (r"\d+", Number.Integer),
            (_NAME, Name.Constant),
            (r"#.*?$", Comment.Single),
        ],
        "string": [
            (r'\\(u[0-9A-Fa-f]{4}|.)', String.Escape),
            (r'[^"\\\n]+', String.Double),
            (r'"', String.Double, "#pop"),
        ],
    }
