"""Reading query text without a parser: keywords inside strings, IRIs and comments never count."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kg.config import load_settings
from kg.errors import BadRequest
from kg.serving.query_policy import check_readable
from kg.sparql_text import (
    dataset_clause,
    looks_like_update,
    mentions_word,
    nesting_depth,
    openers,
    query_form,
    service_targets,
    stray_backslash,
    tokens,
    where_brace,
    without_comments,
)

QUERIES = Path(__file__).resolve().parents[1] / "queries"

TRICKY = """# drop out, DELETE and SERVICE <http://x/> in a comment
PREFIX ex: <http://example.org/ns#>
SELECT ?service ?from WHERE { ?s ex:p "a # not a comment" ; ex:q <http://example.org/a#b> . } # tail
"""


def test_without_comments_keeps_strings_and_iris():
    text = without_comments(TRICKY)
    assert "drop out" not in text and "tail" not in text
    assert '"a # not a comment"' in text and "<http://example.org/a#b>" in text and "<http://example.org/ns#>" in text
    assert len(text) == len(TRICKY)  # offsets are kept, so positions found in one hold in the other


def test_keywords_in_comments_strings_and_variables_do_not_count():
    assert query_form(TRICKY) == "select" and not looks_like_update(TRICKY)
    assert service_targets(TRICKY) == [] and dataset_clause(TRICKY) == ([], [])
    assert TRICKY[where_brace(TRICKY)] == "{"


@pytest.mark.parametrize(
    "query, targets",
    [
        ("SELECT * { SERVICE <http://a/sparql> { ?s ?p ?o } }", ["http://a/sparql"]),
        ("PREFIX e: <http://e/> SELECT * { SERVICE SILENT e:sparql { ?s ?p ?o } }", ["http://e/sparql"]),
        ("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", [None]),
    ],
)
def test_service_targets(query, targets):
    assert service_targets(query) == targets


def test_updates_and_datasets():
    assert looks_like_update("PREFIX e: <http://e/> INSERT DATA { e:a e:b e:c }")
    assert dataset_clause("SELECT * FROM <http://a/> FROM NAMED <http://b/> { ?s ?p ?o }") == (
        ["http://a/"],
        ["http://b/"],
    )


@pytest.mark.parametrize(
    "query, targets",
    [
        # the quotes inside the IRIs and the escaped ones in the names are no string delimiters
        (
            "SELECT * { { ?s <http://x/'> ?o } UNION { SERVICE <http://a/> {} } UNION { ?s <http://y/'> ?o } }",
            ["http://a/"],
        ),
        ("PREFIX ex: <http://x/> SELECT * { ?s ex:a\\' ?o . SERVICE <http://a/> {} ?s ex:b\\' ?o }", ["http://a/"]),
        ("SELECT*WHERE{SERVICE<http://a/>{?s ?p ?o}}", ["http://a/"]),  # no space after the keyword
        ("SELECT * { SERVICE <http\\u003A//a/> {} }", ["http://a/"]),  # an escaped IRI is read unescaped
        ("SELECT * { SERVICE <relative> {} }", ["relative"]),
        ("SELECT * { SERVICE undeclared:x {} }", [""]),  # no IRI at all: refused as such
        ("PREFIX ex: <http://x/> SELECT * { ?s ex:SERVICE ?o }", []),  # a name, not the keyword
        ("SELECT * { ?s ?p '''a SERVICE <http://a/> {} ''' }", []),  # inside a long string
        ("select * { sErViCe <http://a/> {} }", ["http://a/"]),  # keywords in any case
    ],
)
def test_service_targets_read_as_the_grammar_reads_them(query, targets):
    assert service_targets(query) == targets


def test_nesting_depth_and_stray_backslashes():
    assert nesting_depth("SELECT * { { ?s ?p ?o FILTER((1)) } }") == 4
    assert nesting_depth("SELECT * { ?s ?p '{{{{' }") == 1  # braces inside a string do not count
    assert stray_backslash("SELECT * { ?s ?p 'a\\'b' }") is None  # an escape inside a string
    assert stray_backslash("PREFIX ex: <http://x/> SELECT * { ?s ex:a\\. ?o }") is None  # an escape in a name
    assert stray_backslash("SELECT * { \\u0053ERVICE <http://a/> {} }") == 11


def _reference_form(text: str) -> str | None:
    """The form as the whole token sequence gives it (the definition the shortcut must agree with)."""
    return next(
        (
            t.text.lower()
            for t in tokens(text)
            if t.kind == "word" and t.text.upper() in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
        ),
        None,
    )


def _mutations(rng: random.Random, base: str) -> str:
    """``base`` with keywords, brackets and quotes put in comments, strings, IRIs and names at random."""
    inserts = [
        "# SERVICE <http://a/> FROM {{{(((\n",
        "'SELECT FROM'",
        '"{[("',
        "<http://x/SERVICE>",
        "ex:FROM",
        "?service",
        " SERVICE <http://b/> {} ",
        " FROM <http://c/> ",
        " { ",
        " ( ",
        "ASK ",
        "CONSTRUCT ",
        "describe ",
        " sErViCe ?v {} ",
        " from named <http://d/> ",
    ]
    text = base
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(text))
        text = text[:at] + rng.choice(inserts) + text[at:]
    return text


def test_the_shortcuts_agree_with_the_whole_token_sequence():
    """The endpoint reads a query's form from its prologue only, and rules out SERVICE, FROM and deep
    nesting from the raw text when it can; on the saved queries and 3,000 random mutations of them each
    shortcut agrees with the tokens: the form is the same, and a keyword token or a nesting depth is never
    missed."""
    rng = random.Random(7)
    bases = [path.read_text(encoding="utf-8") for path in sorted(QUERIES.glob("*.rq"))] + [TRICKY]
    for index in range(3000):
        text = _mutations(rng, bases[index % len(bases)])
        assert query_form(text) == _reference_form(text), text
        words = {t.text.upper() for t in tokens(text) if t.kind == "word"}
        for word in ("SERVICE", "FROM"):
            assert mentions_word(text, word) or word not in words, text
        assert openers(text) >= nesting_depth(text), text


def test_depth_is_checked_on_tokens_only_past_the_raw_bound():
    settings = load_settings({"root": Path(".")}, env={})
    limit = settings.max_query_depth
    # more opening characters than the limit, all inside a string: the tokens show depth 1, so it passes
    check_readable("SELECT * { ?s ?p '" + "{" * (limit + 10) + "' }", settings)
    with pytest.raises(BadRequest, match="max_query_depth"):
        check_readable("SELECT * " + "{" * (limit + 1) + "}" * (limit + 1), settings)
    check_readable("SELECT * " + "{" * limit + "}" * limit, settings)  # exactly at the limit
