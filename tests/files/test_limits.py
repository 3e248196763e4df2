"""files/limits.py: the memory budget, its environment variable and its messages."""

from __future__ import annotations

from tensorlang.files.limits import DEFAULT_BUDGET, memory_budget, over_budget, size_text


def test_the_default_and_the_environment(monkeypatch):
    monkeypatch.delenv("TENSORLANG_MEMORY_BUDGET", raising=False)
    assert memory_budget() == DEFAULT_BUDGET == 8 * 2 ** 30
    for text, want in (("1000", 1000), ("64G", 64 * 2 ** 30), ("1.5m", 3 * 2 ** 19),
                       ("2KB", 2048), ("nonsense", DEFAULT_BUDGET), ("-5", DEFAULT_BUDGET)):
        monkeypatch.setenv("TENSORLANG_MEMORY_BUDGET", text)
        assert memory_budget() == want, text


def test_messages(monkeypatch):
    monkeypatch.setenv("TENSORLANG_MEMORY_BUDGET", "1M")
    assert size_text(512) == "512 bytes" and size_text(3 * 2 ** 20) == "3.0 MiB"
    assert over_budget(2 ** 20) is None
    assert over_budget(4 * 10 ** 12) == ("3.6 TiB, more than the memory budget of 1.0 MiB "
                                         "(TENSORLANG_MEMORY_BUDGET)")
