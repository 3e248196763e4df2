"""The VS Code extension in editors/vscode: its TextMate grammar tokenized by the real engines VS
Code uses (vscode-textmate and vscode-oniguruma from npm, installed by `make npm` into
build/npm/), its manifest and language configuration, and its entry point (which starts
`tensorlang lsp`). Skipped with the reason when node or build/npm is missing; `make test`
installs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tensorlang.compiler.lower import MODE
from tensorlang.frontend import grammar

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "tensorlang.tmLanguage.json"
NPM = ROOT / "build" / "npm" / "node_modules"
HERE = Path(__file__).resolve().parent
EXAMPLES = sorted((ROOT / "examples").glob("*.tl"))
NODE = shutil.which("node")


def need_node(*modules: str) -> None:
    if NODE is None:
        pytest.skip("node is not installed (Debian's nodejs package)")
    for m in modules:
        if not (NPM / m).is_dir():
            pytest.skip(f"{NPM / m} is missing: run `make npm` (npm install --prefix build/npm)")


def node(script: str, *args: str) -> str:
    env = dict(os.environ, NODE_PATH=str(NPM))
    done = subprocess.run([NODE, str(HERE / script), *args], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def tokens() -> dict:
    """{file: [[(text, innermost scope, all scopes)...] per line]} for every example."""
    need_node("vscode-textmate", "vscode-oniguruma")
    out = json.loads(node("tokenize.js", str(GRAMMAR), *map(str, EXAMPLES)))
    return {Path(f).name: [[(t["text"], t["scopes"][-1], t["scopes"]) for t in line]
                           for line in lines] for f, lines in out.items()}


def test_every_example_tokenizes_into_its_own_text(tokens):
    assert set(tokens) == {p.name for p in EXAMPLES}
    for path in EXAMPLES:
        lines = path.read_text().split("\n")
        got = ["".join(t[0] for t in line) for line in tokens[path.name]]
        assert got == lines, path.name
        for line in tokens[path.name]:
            assert all(scopes[0] == "source.tensorlang" for _, _, scopes in line)


def test_keywords_comments_and_types_get_their_scopes(tokens):
    words = [(text.strip(), scope) for lines in tokens.values() for line in lines
             for text, scope, _ in line if text.strip()]
    scopes = {}
    for text, scope in words:
        scopes.setdefault(text, set()).add(scope)
    for kw in ("let", "placeholder", "variable"):
        assert scopes[kw] == {"keyword.other.tensorlang"}, kw
    assert scopes["graph"] == {"keyword.other.block.tensorlang"}
    assert "storage.type.dtype.tensorlang" in scopes["f32"]
    assert "variable.other.constant.dim.tensorlang" in scopes["N"]
    assert "entity.name.type.class.tensorlang" in scopes["Dense"]
    assert "entity.name.function.tensorlang" in scopes["mean"]
    assert "variable.other.property.tensorlang" in scopes["data"]  # the key of a run block
    comments = [text for lines in tokens.values() for line in lines for text, scope, _ in line
                if scope.startswith("comment.")]
    total = sum(len(re.findall(r"#[^\n]*", p.read_text())) for p in EXAMPLES)
    assert len(comments) == total and all(c.startswith("#") for c in comments)


def test_a_hash_inside_a_string_is_no_comment(tmp_path):
    need_node("vscode-textmate", "vscode-oniguruma")
    f = tmp_path / "s.tl"
    f.write_text('let path = "a#b" # real\n')
    (line, _) = json.loads(node("tokenize.js", str(GRAMMAR), str(f)))[str(f)]
    scopes = {t["text"]: t["scopes"][-1] for t in line}
    assert scopes["# real"].startswith("comment.")
    assert any(s.startswith("string.") for s in (t["scopes"][-1] for t in line if "#b" in
                                                 t["text"]))


def _alternatives(pattern: str) -> set[str]:
    group = re.findall(r"\\b\(([a-z0-9_|]+)\)", pattern)[0]
    return set(group.split("|"))


def test_the_grammars_word_lists_are_the_compilers():
    """A keyword or dtype added to the compiler fails here until the TextMate grammar has it."""
    repo = json.loads(GRAMMAR.read_text())["repository"]
    keywords = _alternatives(repo["keyword"]["match"]) | _alternatives(repo["constant"]["match"])
    assert keywords == set(grammar.KEYWORDS)
    assert _alternatives(repo["dtype"]["match"]) == set(grammar.DTYPES)
    assert _alternatives(repo["type"]["begin"]) == set(grammar.DTYPES)
    assert _alternatives(repo["mode"]["match"]) == {MODE}


def test_the_manifest_declares_the_language_grammar_and_configuration():
    manifest = json.loads((VSCODE / "package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    assert language["id"] == "tensorlang" and language["extensions"] == [".tl"]
    (tm,) = manifest["contributes"]["grammars"]
    assert (VSCODE / tm["path"]).resolve() == GRAMMAR and tm["scopeName"] == "source.tensorlang"
    assert json.loads(GRAMMAR.read_text())["scopeName"] == tm["scopeName"]
    config = json.loads((VSCODE / language["configuration"]).read_text())
    assert config["comments"] == {"lineComment": "#"}
    assert ["{", "}"] in config["brackets"] and ["[", "]"] in config["brackets"]
    assert "vscode-languageclient" in manifest["dependencies"]
    assert (VSCODE / manifest["main"]).is_file()


def test_the_extension_starts_tensorlang_lsp_over_stdio():
    need_node()
    seen = json.loads(node("activate.js", str(VSCODE / "extension.js")))
    assert seen["serverOptions"] == {"command": "tensorlang", "args": ["lsp"], "transport": 0}
    assert {"scheme": "file", "language": "tensorlang"} in seen["clientOptions"][
        "documentSelector"]
    assert seen["started"] and seen["stopped"] and seen["section"] == "tensorlang.server.command"
    seen = json.loads(node("activate.js", str(VSCODE / "extension.js"),
                           '["/opt/venv/bin/tensorlang", "lsp", "--log", "/tmp/tl.log"]'))
    assert seen["serverOptions"]["command"] == "/opt/venv/bin/tensorlang"
    assert seen["serverOptions"]["args"] == ["lsp", "--log", "/tmp/tl.log"]
