"""Making chat text safe to show as Markdown: stored names are escaped, and model output loses raw
HTML, images and links (a model can be talked into writing a tracking pixel or a phishing link;
device names are whatever a device or user typed)."""

from __future__ import annotations

import re

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


__all__ = ["escape_markdown", "plain_name", "sanitize_markdown"]
