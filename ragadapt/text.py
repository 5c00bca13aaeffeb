"""Text that every tokenizer can take."""

from __future__ import annotations


def valid_utf8(text: str) -> bool:
    """False for strings JSON can hold but UTF-8 cannot encode (lone surrogates such as \\ud800): a tokenizer
    fails on them, so loaders catch them at the source, with their file and line."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str) -> str:
    """`text` with anything UTF-8 cannot encode replaced by '?' (for queries typed or pasted by a user)."""
    return text if valid_utf8(text) else text.encode("utf-8", "replace").decode("utf-8")


def end_at_boundary(text: str) -> str:
    """A reply cut off at the token limit, ended at its last full sentence (or, without one, its last whole word
    and an ellipsis), so an answer never stops mid-word."""
    import re

    text = text.rstrip()
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text)]
    if ends and ends[-1] > len(text) // 2:  # a sentence that keeps most of the reply, not "Dr." of "Dr. Who"
        return text[: ends[-1]]
    cut = text.rfind(" ")
    return (text[:cut] if cut > 0 else text).rstrip(",;:") + "…"
