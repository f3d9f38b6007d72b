"""Plain text: what is kept of anything a user writes that other people will see (chat messages,
display names, shipping addresses).

Every client renders these values as text, never as HTML, so the stored value is what a reader
should see: markup is removed by ammonia (through nh3, a maintained HTML sanitizer that parses as
a browser does, so unclosed and malformed tags go too), and the entities it leaves are turned back
into the characters they stand for — `a < b` stays `a < b`, not `a &lt; b`. Decoding an entity can
reveal new markup (`&lt;img src=x onerror=...&gt;`), so cleaning repeats until nothing changes;
whatever still looks like the start of a tag after that (`</` at the very end) loses its `<`.

Then characters that make a text look different from what it is are dropped — bidirectional
overrides, isolates and marks (they reorder what follows, e.g. a name that reads backwards) and
zero-width characters (invisible, used to dodge filters and impersonate names) — and the result is
NFC-normalised, so that text that looks the same is stored the same.

Control characters are refused, not dropped, where a user writes (the caller answers 400
VALIDATION_ERROR): a newline is allowed in chat messages only, and CR LF counts as a newline.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

# Bidirectional embeddings and overrides, isolates, the LTR/RTL marks and the Arabic letter mark;
# zero-width space, non-joiner and joiner, the word joiner, the invisible operators, the
# deprecated shaping controls and the byte-order mark (zero-width no-break space).
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060-\u2064\u206a-\u206f\ufeff]")
# C0 and C1 controls and DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# Half of a UTF-16 pair, alone: not a character, and nothing can encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a browser would start a tag, an end tag, a comment or a processing instruction with.
_TAG_START = re.compile(r"<+(?=[^\W\d_]|[/!?])")
_MAX_PASSES = 8


class NotPlainText(ValueError):
    """The text holds a control character where none is allowed."""


def plain_text(raw: str, *, multiline: bool = False) -> str:
    """The plain text a user meant, trimmed; NotPlainText when it holds a control character
    (other than newlines when `multiline`), also one an entity such as `&#13;` stands for."""
    control = _CONTROL_BUT_NEWLINE if multiline else _CONTROL
    text = raw.replace("\r\n", "\n")
    if _SURROGATE.search(text):
        raise NotPlainText("must be valid Unicode text")
    if control.search(text):
        raise NotPlainText("must not contain control characters" + (" other than newlines" if multiline else ""))
    text = _resolved(text)
    if control.search(text):
        raise NotPlainText("must not stand for control characters" + (" other than newlines" if multiline else ""))
    return text.strip()


def displayable(raw: str | None) -> str:
    """Text stored before it was cleaned on input (an old display name), made safe to show:
    like plain_text, but control characters become spaces instead of being refused."""
    text = _SURROGATE.sub("", _CONTROL.sub(" ", raw or ""))
    return _CONTROL.sub(" ", _resolved(text)).strip()


def _resolved(text: str) -> str:
    """`text` as a reader sees it: every tag, comment and entity resolved, invisible characters
    dropped, NFC. Dropping an invisible character or decoding an entity can reveal new markup
    (a zero-width space after a `<`, `&lt;img ...&gt;`), so the steps repeat until nothing changes."""
    for _ in range(_MAX_PASSES):
        canonical = _canonical(text)
        # Without `<` or `&` there is no markup: ammonia would give the same text back.
        cleaned = html.unescape(nh3.clean(canonical, tags=set())) if "<" in canonical or "&" in canonical else canonical
        if cleaned == text:
            break
        text = cleaned
    return _canonical(_TAG_START.sub("", text))


def _canonical(text: str) -> str:
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
