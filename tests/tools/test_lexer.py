"""The Pygments lexer: every example lexes with no Error token and loses no character; each kind
of word gets its token; its word lists follow the compiler's (a keyword the parser reserves but
the lexer does not know fails here); the entry point makes `pygmentize -l tensorlang` work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Name, Number, String

from tensorlang.frontend import grammar, larkparser
from tensorlang.ops import REGISTRY
from tensorlang.tools.lexer import TensorlangLexer

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.tl"))


def lex(text: str) -> list[tuple]:
    return [(kind, value) for kind, value in TensorlangLexer().get_tokens(text)
            if value.strip()]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_lexes_without_an_error_token(path):
    text = path.read_text()
    tokens = list(TensorlangLexer().get_tokens(text))
    assert [v for k, v in tokens if k in Error] == []
    assert "".join(v for _, v in tokens) == text


def test_each_kind_of_word_gets_its_token():
    text = ('let n = 4  # four\n'
            'graph g {\n'
            '    placeholder x: f32[N + 1, ?]\n'
            '    variable W: [4, n] = glorot_uniform() frozen\n'
            '    h = Dense(x, n, activation = tanh)\n'
            '    z = cast(h, i64) * 1.5e-3 + 2 + .5\n'
            '}\n'
            'data d {\n    x = csv("a\\tb.csv")\n}\n'
            'train g {\n    data = d\n    shuffle = true\n}\n')
    got = lex(text)
    assert (Keyword, "let") in got and (Keyword, "placeholder") in got
    assert (Keyword, "frozen") in got and (Keyword.Constant, "true") in got
    assert (Keyword.Declaration, "graph") in got and (Name.Namespace, "g") in got
    assert (Keyword.Type, "f32") in got and (Keyword.Type, "i64") in got
    assert (Name.Constant, "N") in got and (Name.Constant, "n") in got  # dims in a type
    assert (Name.Class, "Dense") in got
    assert (Name.Builtin, "tanh") in got and (Name.Builtin, "cast") in got
    assert (Name.Builtin, "glorot_uniform") in got and (Name.Builtin, "csv") in got
    assert (Number.Float, "1.5e-3") in got and (Number.Float, ".5") in got
    assert (Number.Integer, "2") in got
    assert (String.Escape, "\\t") in got and (Comment.Single, "# four") in got
    assert (Name.Attribute, "data") in got  # the key, not the keyword
    assert (Name, "h") in got and (Name, "activation") in got


def test_a_layer_definition_and_a_capitalized_call_are_layers():
    got = lex("layer Twice(x: [..., In]) {\n    return Inner(x)\n}\n")
    assert (Name.Class, "Twice") in got and (Name.Class, "Inner") in got
    assert (Name.Constant, "In") in got


def test_every_keyword_dtype_and_public_op_of_the_compiler_is_highlighted():
    for word in grammar.KEYWORDS:
        assert lex(word)[0][0] in Keyword, word
    for dtype in grammar.DTYPES:
        assert lex(f"cast(x, {dtype})")[-2] == (Keyword.Type, dtype)
    for name, op in REGISTRY.items():
        if not op.internal and not op.fused:
            assert lex(f"{name}(x)")[0] == (Name.Builtin, name), name


def test_the_compilers_keyword_list_is_every_word_the_parser_reserves():
    """The lexer (and the VS Code grammar) read grammar.KEYWORDS; a keyword added to the .lark
    grammar but not to that list would be lexed as a plain name."""
    terminals = larkparser.parser().lexer_conf.terminals
    reserved = {t.pattern.value for t in terminals
                if t.pattern.type == "str" and t.pattern.value.isidentifier()}
    assert reserved == set(grammar.KEYWORDS)


def test_pygments_finds_the_lexer_by_name_and_by_file_name():
    assert isinstance(get_lexer_by_name("tensorlang"), TensorlangLexer)
    assert isinstance(get_lexer_for_filename("model.tl"), TensorlangLexer)


def test_pygmentize_highlights_a_file(tmp_path):
    pygmentize = Path(sys.executable).with_name("pygmentize")
    if not pygmentize.exists():
        pytest.skip(f"no pygmentize beside {sys.executable}")
    xor = next(p for p in EXAMPLES if p.name == "xor.tl")
    out = subprocess.run([str(pygmentize), "-l", "tensorlang", "-f", "html", str(xor)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert '<span class="k">placeholder</span>' in out.stdout
    assert '<span class="nc">Dense</span>' in out.stdout


def test_rich_highlights_with_it():
    from rich.console import Console
    from rich.syntax import Syntax

    syntax = Syntax("graph g {\n    h = Dense(x, 4)\n}\n", "tensorlang")
    assert isinstance(syntax.lexer, TensorlangLexer)
    console = Console(record=True, force_terminal=True, color_system="truecolor", width=100)
    console.print(syntax)
    styled = console.export_text(styles=True)
    assert "Dense" in styled and "\x1b[" in styled


def test_the_mode_flag_and_the_v2_keywords_are_highlighted():
    got = lex("graph g {\n    variable m: [2] = zeros() state\n    update m = m\n"
              "    y = dropout(x, 0.5) if training else x\n}\n")
    assert (Keyword, "state") in got and (Keyword, "update") in got
    assert (Keyword, "if") in got and (Keyword, "else") in got
    assert (Name.Builtin.Pseudo, "training") in got and (Name.Builtin, "dropout") in got
