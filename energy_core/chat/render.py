"""Making chat text safe to show as Markdown: stored names are escaped, and model output loses raw
HTML, images and links (a model can be talked into writing a tracking pixel or a phishing link;
device names are whatever a device or user typed)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*[^)]*\)")
_REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<(?:https?|ftp|mailto|data|javascript):[^>\s]*>", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?|ftp)://[^\s)>\]]+|\bwww\.[^\s)>\]]+", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--.*?-->", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def escape_markdown(text: str) -> str:
    """``text`` (a device name, an email) shown literally inside Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub("", text))


def plain_name(text: str, *, max_length: int = 60) -> str:
    """A stored name for use in plain text: one line, no control characters, bounded length."""
    text = re.sub(r"\s+", " ", _CONTROL.sub("", text)).strip()
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


def sanitize_markdown(text: str) -> str:
    """Model output made safe for ``st.markdown``: no HTML, images, links or URLs, and no ``$``
    that Streamlit would take for LaTeX. Tables, lists and emphasis survive."""
    text = _CONTROL.sub("", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _REFERENCE_LINK.sub("", text)
    text = _AUTOLINK.sub("(link removed)", text)
    text = _URL.sub("(link removed)", text)
    # Streamlit shows what is left of < and > as text (unsafe_allow_html stays off).
    text = _HTML_TAG.sub("", text)
    return re.sub(r"(?<!\\)\$", r"\\$", text)


_MARKDOWN_TO_PLAIN = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>$:])|\*\*")


def plain_text(markdown: str) -> str:
    """Chat Markdown as plain text for a terminal: escaped characters as themselves ("Router
    \\(Hallway\\)" -> "Router (Hallway)") and no bold markers."""
    return _MARKDOWN_TO_PLAIN.sub(lambda m: m.group(1) or "", markdown)


def plain_stream(chunks: Iterable[str]) -> Iterator[str]:
    """``plain_text`` of a streamed answer: a trailing backslash or asterisk waits for the next
    chunk, as it may begin an escape or a bold marker."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        cut = len(pending.rstrip("\\*"))
        if cut:
            yield plain_text(pending[:cut])
            pending = pending[cut:]
    if pending:
        yield plain_text(pending)


def _stable_prefix(raw: str) -> int:
    """How much of a growing text can be sanitized for good: up to its last whitespace, and before
    any link, image or tag that has begun but not ended (its URL may still be arriving)."""
    cut = max(raw.rfind(" "), raw.rfind("\n")) + 1
    for start in (raw.rfind("[", 0, cut), raw.rfind("<", 0, cut)):
        if start < 0:
            continue
        rest = raw[start:]
        if rest.startswith("<"):
            complete = ">" in rest
        else:
            close = rest.find("]")
            if close < 0 or close == len(rest) - 1:
                complete = False  # "[text" or "[text]": a "(url)" may follow
            elif rest[close + 1] == "(":
                complete = ")" in rest[close:]
            else:
                complete = True
        if not complete:
            cut = min(cut, start - (start > 0 and raw[start - 1] == "!"))
    return cut


def sanitized_stream(chunks: Iterable[str]) -> Iterator[str]:
    """Stream model output through ``sanitize_markdown``: what is shown never contains a link,
    image or tag, even for a moment while its pieces arrive."""
    raw, shown = "", ""
    for chunk in chunks:
        raw += chunk
        clean = sanitize_markdown(raw[: _stable_prefix(raw)])
        if len(clean) > len(shown) and clean.startswith(shown):
            yield clean[len(shown) :]
            shown = clean
    clean = sanitize_markdown(raw)
    if clean.startswith(shown) and len(clean) > len(shown):
        yield clean[len(shown) :]


__all__ = [
    "escape_markdown",
    "plain_name",
    "plain_stream",
    "plain_text",
    "sanitize_markdown",
    "sanitized_stream",
]
