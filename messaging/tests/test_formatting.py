"""Markdown rendered to sanitized HTML: what is formatted, what never reaches a client, and that it is
stored by the send and edit services and sent on every message payload."""

from __future__ import annotations

import importlib
import random
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from messaging import events, formatting, migrations
from messaging.formatting import render, render_markdown, render_message, sanitize
from messaging.models import Message
from messaging.services import message_delete, message_edit
from messaging.tests.factories import send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

REL = 'rel="nofollow noopener noreferrer"'


def html_of(content: str, **mentions: int) -> str:
    return render(content, mentions=mentions)


# --- formatting -----------------------------------------------------------------------------------------


def test_emphasis_code_lists_quotes_and_line_breaks_are_rendered():
    html = html_of("**bold** _it_ `x`\nnext\n\n> quoted\n\n- a\n- b\n\n3. c")

    assert "<strong>bold</strong> <em>it</em> <code>x</code><br>\nnext" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    assert "<ul>\n<li>a</li>\n<li>b</li>\n</ul>" in html
    assert '<ol start="3">\n<li>c</li>\n</ol>' in html


def test_links_and_bare_urls_get_rel_nofollow_noopener_noreferrer():
    html = html_of("[docs](https://example.com/docs) and https://example.org/x?a=1&b=2 and www.example.net")

    assert f'<a href="https://example.com/docs" {REL}>docs</a>' in html
    assert f'<a href="https://example.org/x?a=1&amp;b=2" {REL}>https://example.org/x?a=1&amp;b=2</a>' in html
    assert f'<a href="http://www.example.net" {REL}>www.example.net</a>' in html


def test_code_blocks_keep_their_text_escaped():
    fenced = html_of("```python\nif a < b and '<script>': pass\n```")
    indented = html_of("    <b>not bold</b> **not strong**")

    assert fenced == ("<pre><code class=\"language-python\">if a &lt; b and '&lt;script&gt;': pass\n</code></pre>")
    assert indented == "<pre><code>&lt;b&gt;not bold&lt;/b&gt; **not strong**\n</code></pre>"


def test_a_code_class_that_is_not_a_language_name_is_dropped():
    assert html_of('```x" onclick="alert(1)\ncode\n```') == "<pre><code>code\n</code></pre>"


def test_headings_rules_and_images_stay_text():
    html = html_of("# title\n---\n![cat](https://example.com/cat.png)")

    assert "<h1" not in html
    assert "<hr" not in html
    assert "<img" not in html
    assert f'# title<br>\n---<br>\n!<a href="https://example.com/cat.png" {REL}>cat</a>' in html


def test_mentions_of_known_users_become_links_to_the_user():
    html = html_of("hi @Bob, @bob. and @nobody; mail bob@example.com; `@bob`", bob=7)

    link = f'<a href="/api/v1/users/7/" class="mention" data-user-id="7" {REL}>'
    assert html.count(link) == 2
    assert f"{link}@Bob</a>," in html
    assert f"{link}@bob</a>." in html
    assert "@nobody" in html
    assert "<code>@bob</code>" in html
    assert f'<a href="mailto:bob@example.com" {REL}>bob@example.com</a>' in html


def test_render_message_links_active_users_only():
    bob = make_user("bob")
    gone = make_user("gone", is_active=False)

    html = render_message("@bob @gone @BOB")

    assert html.count(f'href="/api/v1/users/{bob.pk}/"') == 2
    assert f"/users/{gone.pk}/" not in html


# --- what never reaches a client ----------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
    "[x](/api/v1/auth/logout/)",
    "[x](//evil.example.com)",
    '[x](https://example.com" onmouseover="alert(1))',
    "<iframe src=https://evil.example.com></iframe>",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<!-- comment --><b onclick=alert(1)>x</b>",
    "[x](file:///etc/passwd)",
    '<https://example.com/" onclick="alert(1)>',
    "<javascript:alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


class _Elements(HTMLParser):
    """Every element and attribute an HTML fragment really has (escaped text is not an element)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


ALLOWED = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}


@pytest.mark.parametrize("content", XSS)
def test_no_script_handler_foreign_scheme_or_raw_html_reaches_the_html(content):
    html = html_of(content)

    for tag, attrs in elements(html):
        assert tag in ALLOWED, html
        assert not any(name.startswith("on") or name in {"style", "src", "target"} for name in attrs), html
        if tag == "a" and "href" in attrs:
            assert (attrs["href"] or "").startswith(("http://", "https://", "mailto:")), html
            assert attrs["rel"] == "nofollow noopener noreferrer"
    assert "<script" not in html.lower()


def test_the_sanitizer_itself_refuses_what_the_parser_might_let_through():
    dirty = (
        '<p onclick="x()">a</p><a href="javascript:alert(1)">j</a><a href="/admin/">r</a>'
        '<a href="https://ok.example" class="evil" target="_blank">ok</a><img src="https://x/y.png">'
        '<code class="language-py x">c</code><script>alert(1)</script><h1>h</h1>'
    )

    assert sanitize(dirty) == (
        f'<p>a</p><a {REL}>j</a><a {REL}>r</a><a href="https://ok.example" {REL}>ok</a><code>c</code>h'
    )


# --- bounded work -------------------------------------------------------------------------------------

PATHOLOGICAL = [
    "> " * 2000,
    "- " * 2000,
    "> - 1. " * 600,
    "*a" * 2000,
    "_a" * 2000,
    "[" * 4000,
    "[a](" * 1000,
    "[]()" * 1000,
    "`" * 4000,
    "<" * 4000,
    "*" * 4000,
    "**_" * 1300,
    "@a " * 1300,
    "http://a.b/" * 360,
]


@pytest.mark.parametrize("content", PATHOLOGICAL, ids=lambda content: repr(content[:8]))
def test_pathological_input_of_the_longest_allowed_size_renders_quickly(content):
    content = content[: settings.CHAT_MAX_MESSAGE_LENGTH]
    started = time.perf_counter()

    html = html_of(content, a=1)

    assert time.perf_counter() - started < 1.0
    assert html.startswith("<")


def test_text_nested_deeper_than_the_limit_is_shown_as_text_not_dropped():
    html = html_of("> " * 30 + "deep <b>\nsecond line")

    assert html == "<p>" + "&gt; " * 30 + "deep &lt;b&gt;<br>\nsecond line</p>"


# --- stored and sent ------------------------------------------------------------------------------------


def test_send_stores_the_html_and_every_payload_carries_it(user):
    make_user("bob")
    message = send(user, "**hi** @bob")

    stored = Message.objects.get(pk=message.pk)
    assert stored.html.startswith("<p><strong>hi</strong> <a href=")
    assert events.message_payload(stored)["html"] == stored.html
    assert events.message_created(stored, room_slug="general")["message"]["html"] == stored.html


def test_edit_renders_again_and_delete_clears_it(user):
    message = send(user, "one")

    edited = message_edit(actor=user, message_id=message.pk, content="_two_")
    assert Message.objects.get(pk=message.pk).html == "<p><em>two</em></p>"
    assert events.message_updated(edited)["message"]["html"] == "<p><em>two</em></p>"

    message_delete(actor=user, message_id=message.pk)
    assert Message.objects.get(pk=message.pk).html == ""


def test_the_api_returns_html_in_history_and_on_send(api, user):
    api.force_authenticate(user)

    sent = api.post("/api/v1/messages/", {"content": "`a<b`"}, format="json").json()
    history = api.get("/api/v1/messages/").json()["results"]

    assert sent["html"] == "<p><code>a&lt;b</code></p>"
    assert history[-1]["html"] == "<p><code>a&lt;b</code></p>"


def test_the_migration_renders_existing_messages_in_batches(user, monkeypatch):
    make_user("bob")
    ids = [send(user, f"*m{i}* @bob").pk for i in range(5)]
    deleted = send(user, "gone")
    message_delete(actor=user, message_id=deleted.pk)
    Message.objects.update(html="")
    # Found by its name, whatever number it gets when branches are merged.
    (path,) = Path(migrations.__file__).parent.glob("*_message_html.py")
    migration = importlib.import_module(f"messaging.migrations.{path.stem}")
    monkeypatch.setattr(migration, "BATCH", 2)

    migration.render_existing(apps, None)

    for pk in ids:
        html = Message.objects.get(pk=pk).html
        assert html.startswith("<p><em>m")
        assert 'class="mention"' in html
    assert Message.objects.get(pk=deleted.pk).html == ""


# The characters that plain text may hold, and those next to them that the parser or linkify act on.
_NEAR_PLAIN = list("aZéßж10  ,;!?'.|~-wcom")
_NOT_PLAIN = [
    *("1. one", "1.", "a.com", "see example.org now", "www.x", "~~~", "a  b", " a", "a ", "a\nb", "@ana", "x_y"),
    *("a*b", "#x", "- x", "-x", "+ x", "a & b", "a <b>", 'say "hi"', "http://x", "a:b", "a/b", "é.рф", "`x`"),
]


def test_plain_text_renders_exactly_as_the_parser_would():
    """The fast path for plain text (no parser, no sanitizer) gives the parser's output, on every text of
    a seeded sample over the characters it lets through and those it must not."""
    rng = random.Random(20261206)
    fast = 0
    for _ in range(30_000):
        text = "".join(rng.choice(_NEAR_PLAIN) for _ in range(rng.randint(1, 14)))
        if formatting._PLAIN.fullmatch(text):
            fast += 1
        assert render(text, mentions={}) == render_markdown(text, mentions={}), text
    for text in ["Hello there, see you at 3.30!", "~bm3.5.1733512345678901| xxxx", "ok. so-so; fine?! yes|no ~5"]:
        assert formatting._PLAIN.fullmatch(text), text
        assert render(text, mentions={}) == render_markdown(text, mentions={}) == f"<p>{text}</p>"
    assert fast > 3_000  # the sample does exercise the fast path


@pytest.mark.parametrize("text", _NOT_PLAIN)
def test_text_that_markdown_or_linkify_could_act_on_goes_through_the_parser(text):
    assert not formatting._PLAIN.fullmatch(text)
