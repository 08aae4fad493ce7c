"""for_terminal: what the CLI prints of file names and cell values cannot drive the terminal."""

from __future__ import annotations

import pytest

from worktrack.terminal import for_terminal


@pytest.mark.parametrize("raw, shown", [
    ("天剑社区-2023-06.csv", "天剑社区-2023-06.csv"),
    ("\x1b[31mred\x1b[0m", "red"),
    ("\x1b[2J\x1b[Hcleared", "cleared"),
    ("\x1b]0;new window title\x07name", "name"),
    ("\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("\x9b31mred", "red"),  # 8-bit CSI
    ("a\x1bb", "ab"),  # a lone ESC
    ("a\x00b\x07c\x7fd\x85e", "abcd e"),  # NUL, BEL, DEL; NEL is a line break
    ("line one\r已接收 第 1 版", "line one 已接收 第 1 版"),  # \r cannot overwrite what was printed
    ("two\nlines\tand tab", "two lines and tab"),
    ("report\u202excod.csv", "report<U+202E>xcod.csv"),
    ("\u2066isolate\u2069 \u200fmark", "<U+2066>isolate<U+2069> <U+200F>mark"),
    ("１２３ 全角 ok", "１２３ 全角 ok"),  # printable text is left alone
    (None, ""),
    (42, "42"),
])
def test_for_terminal(raw, shown):
    assert for_terminal(raw) == shown


def test_output_has_no_control_characters_left():
    hostile = "".join(chr(c) for c in range(0, 0x20)) + "\x7f" + "".join(chr(c) for c in range(0x80, 0xa0)) + "ok"
    shown = for_terminal(hostile)
    assert shown.strip() == "ok"
    assert all(ch == " " or ch.isprintable() for ch in shown)
