"""Text from uploads made safe to print on a terminal: one function for every CLI listing.

File names and cell values come from outside. Printed as they are, an ANSI escape can recolour or
clear the screen, rewrite the line above ("已接收") or set the window title, and a bidi override
(U+202E) can make "report\u202Excod.csv" read as "reportvsc.docx". `for_terminal` removes escape
sequences and control characters and makes bidi controls visible as <U+202E>.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-character ESC sequences, 8-bit CSI.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]?")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\t\n\r\v\f\u0085\u2028\u2029")


def for_terminal(value: Any) -> str:
    """A value as plain, visible, one-line text: escapes and control characters out, bidi controls shown."""
    text = _ESCAPES.sub("", "" if value is None else str(value))
    out = []
    for ch in text:
        if ch in _BIDI_CONTROLS:
            out.append(f"<U+{ord(ch):04X}>")
        elif ch in _LINE_BREAKS:
            out.append(" ")
        elif unicodedata.category(ch) != "Cc":
            out.append(ch)
    return "".join(out)
