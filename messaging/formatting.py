"""A message's markdown rendered to sanitized HTML, stored beside its text (``Message.html``).

markdown-it-py parses a CommonMark subset (emphasis, code spans and blocks, lists, quotes, links,
bare URLs and ``@mentions`` made links) with raw HTML and images turned off; nh3 then keeps only an
allow-list of tags, attributes and URL schemes, so even a parser bug cannot hand a client a script.
Rendering is bounded: the text is at most CHAT_MAX_MESSAGE_LENGTH characters and markdown-it stops
nesting at ``MAX_NESTING`` levels, so deep quotes or lists cost linear time.
"""

from __future__ import annotations

import functools
import logging
import operator
import re
from collections.abc import Mapping
from functools import reduce
from html import escape

import nh3
from django.db.models import Q
from django.urls import reverse
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

from messaging import limits
from users.models import User

logger = logging.getLogger(__name__)

# "@name" not preceded by a word character (so e-mail addresses are not mentions).
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
_MENTION_AT = re.compile(r"[\w.+-]{1,150}")
MAX_NESTING = 20
_TOO_DEEP = "too_deep"

TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ATTRIBUTES = {"a": {"href", "title", "class", "data-user-id"}, "ol": {"start"}, "code": {"class"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"
_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
_LANGUAGE_CLASS = re.compile(r"^language-[\w+#.-]{1,40}$")
# Text that no markdown rule and no linkify pattern acts on, so it renders as "<p>text</p>" (most chat
# lines; markdown-it costs 0.1-0.7 ms per message on the send path). One line, no leading or trailing
# space; a letter, a digit or one "~" first; after it letters, digits, spaces and ,;!?'|~- ; a "." only between
# digits (3.5) or after a letter before a space or the end (so never "1. " (a list) nor a domain name).
# No & < > " either, so nothing needs escaping. test_formatting checks it against the parser.
_PLAIN = re.compile(r"(?:[^\W_]|~(?!~))(?:[^\W_]|[,;!?'|~-]|(?<=\d)\.(?=\d)|(?<=[^\W\d_])\.(?= [^ ]|$)| (?=[^ ]))*")


def mentioned_usernames(content: str) -> set[str]:
    """Lower-cased usernames mentioned as ``@name`` (trailing punctuation ignored)."""
    if "@" not in content:
        return set()
    return {name.rstrip(".-+").lower() for name in MENTION.findall(content)}


def mention_ids(content: str) -> dict[str, int]:
    """Active users mentioned in ``content``, lower-cased username → id (at most MENTIONS_PER_MESSAGE
    names are looked up), in one query."""
    names = sorted(mentioned_usernames(content))[: limits.MENTIONS_PER_MESSAGE]
    names = [name for name in names if name]
    if not names:
        return {}
    by_name = reduce(operator.or_, (Q(username__iexact=name) for name in names))
    users = User.objects.filter(by_name, is_active=True).values_list("username", "pk")
    return {username.lower(): pk for username, pk in users}


def render_message(content: str) -> str:
    """The sanitized HTML of a message's ``content``, its mentions of active users made links."""
    return render(content, mentions=mention_ids(content))


def render(content: str, *, mentions: Mapping[str, int]) -> str:
    """Sanitized HTML of ``content`` (empty for empty text); ``mentions`` maps lower-cased usernames
    to the ids that ``@name`` links to. Never raises: text the parser chokes on is shown escaped."""
    if not content:
        return ""
    if _PLAIN.fullmatch(content):
        return f"<p>{content}</p>"
    return render_markdown(content, mentions=mentions)


def render_markdown(content: str, *, mentions: Mapping[str, int]) -> str:
    """``render`` through the parser and the sanitizer, for any text (``render`` skips them for plain
    text, which they would leave as it is)."""
    md, env = _parser(), {"mentions": mentions}
    try:
        tokens = md.parse(content, env)
        html = _as_text(content) if env.get(_TOO_DEEP) else md.renderer.render(tokens, md.options, env)
    except (RecursionError, ValueError, IndexError):  # pragma: no cover - a parser bug, not an input error
        logger.warning("Markdown rendering failed; the message is shown as text", exc_info=True)
        html = _as_text(content)
    return sanitize(html)


def _as_text(content: str) -> str:
    """The text itself, escaped, its line breaks kept: for what nests deeper than MAX_NESTING (which
    markdown-it would cut short)."""
    return "<p>" + escape(content).replace("\n", "<br>\n") + "</p>"


def sanitize(html: str) -> str:
    """Only the allow-listed tags, attributes and URL schemes; links get rel="nofollow noopener noreferrer"."""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute_filter,
        link_rel=LINK_REL,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
    ).strip()


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        if tag == "a":
            return value if value == "mention" else None
        return value if _LANGUAGE_CLASS.match(value) else None
    if attribute == "data-user-id":
        return value if value.isdigit() else None
    if attribute == "href" and tag == "a" and not (_SAFE_LINK.match(value) or value.startswith("/api/v1/users/")):
        return None
    return value


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "maxNesting": MAX_NESTING})
    md.enable("linkify")
    # A chat message has no headings, rules, images or raw HTML.
    md.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline"])
    md.validateLink = _valid_link  # type: ignore[method-assign]  # markdown-it-py's documented hook
    md.inline.ruler.before("linkify", "mention", _mention_rule)
    tokenize = md.block.tokenize

    def tokenize_bounded(state: StateBlock, start_line: int, end_line: int) -> None:
        # At the limit markdown-it drops the rest of the text; note it, to show the text as such.
        if state.level >= MAX_NESTING:
            state.env[_TOO_DEEP] = True
        tokenize(state, start_line, end_line)

    # The nested calls (quotes, list items) go through ``state.md.block.tokenize``, so this instance attribute.
    setattr(md.block, "tokenize", tokenize_bounded)  # noqa: B010
    return md


def _valid_link(url: str) -> bool:
    """Only absolute http(s) and mailto links (relative ones would point into this server)."""
    return bool(_SAFE_LINK.match(url.strip()))


def _mention_rule(state: StateInline, silent: bool) -> bool:
    """``@name`` of an active user becomes ``<a class="mention" href="/api/v1/users/<id>/">@name</a>``."""
    pos = state.pos
    if state.src[pos] != "@" or (pos > 0 and (state.src[pos - 1].isalnum() or state.src[pos - 1] in "_@")):
        return False
    found = _MENTION_AT.match(state.src, pos + 1)
    if found is None:
        return False
    name = found.group().rstrip(".-+")
    user_id = state.env.get("mentions", {}).get(name.lower()) if name else None
    if user_id is None:
        return False
    if not silent:
        link = state.push("link_open", "a", 1)
        link.attrs = {"href": _user_path(user_id), "class": "mention", "data-user-id": str(user_id)}
        text = state.push("text", "", 0)
        text.content = "@" + name
        state.push("link_close", "a", -1)
    state.pos = pos + 1 + len(name)
    return True


def _user_path(user_id: int) -> str:
    return reverse("user-detail", args=[user_id])
