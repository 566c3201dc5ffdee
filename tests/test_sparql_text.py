"""Reading query text without a parser: keywords inside strings, IRIs and comments never count."""

from __future__ import annotations

import pytest

from kg.sparql_text import (dataset_clause, looks_like_update, nesting_depth, query_form, service_targets,
                            stray_backslash, where_brace, without_comments)

TRICKY = '''# drop out, DELETE and SERVICE <http://x/> in a comment
PREFIX ex: <http://example.org/ns#>
SELECT ?service ?from WHERE { ?s ex:p "a # not a comment" ; ex:q <http://example.org/a#b> . } # tail
'''


def test_without_comments_keeps_strings_and_iris():
    text = without_comments(TRICKY)
    assert "drop out" not in text and "tail" not in text
    assert '"a # not a comment"' in text and "<http://example.org/a#b>" in text and "<http://example.org/ns#>" in text
    assert len(text) == len(TRICKY)  # offsets are kept, so positions found in one hold in the other


def test_keywords_in_comments_strings_and_variables_do_not_count():
    assert query_form(TRICKY) == "select" and not looks_like_update(TRICKY)
    assert service_targets(TRICKY) == [] and dataset_clause(TRICKY) == ([], [])
    assert TRICKY[where_brace(TRICKY)] == "{"


@pytest.mark.parametrize("query, targets", [
    ("SELECT * { SERVICE <http://a/sparql> { ?s ?p ?o } }", ["http://a/sparql"]),
    ("PREFIX e: <http://e/> SELECT * { SERVICE SILENT e:sparql { ?s ?p ?o } }", ["http://e/sparql"]),
    ("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", [None]),
])
def test_service_targets(query, targets):
    assert service_targets(query) == targets


def test_updates_and_datasets():
    assert looks_like_update("PREFIX e: <http://e/> INSERT DATA { e:a e:b e:c }")
    assert dataset_clause("SELECT * FROM <http://a/> FROM NAMED <http://b/> { ?s ?p ?o }") == (["http://a/"], ["http://b/"])


@pytest.mark.parametrize("query, targets", [
    # the quotes inside the IRIs and the escaped ones in the names are no string delimiters
    ("SELECT * { { ?s <http://x/'> ?o } UNION { SERVICE <http://a/> {} } UNION { ?s <http://y/'> ?o } }", ["http://a/"]),
    ("PREFIX ex: <http://x/> SELECT * { ?s ex:a\\' ?o . SERVICE <http://a/> {} ?s ex:b\\' ?o }", ["http://a/"]),
    ("SELECT*WHERE{SERVICE<http://a/>{?s ?p ?o}}", ["http://a/"]),  # no space after the keyword
    ("SELECT * { SERVICE <http\\u003A//a/> {} }", ["http://a/"]),  # an escaped IRI is read unescaped
    ("SELECT * { SERVICE <relative> {} }", ["relative"]),
    ("SELECT * { SERVICE undeclared:x {} }", [""]),  # no IRI at all: refused as such
    ("PREFIX ex: <http://x/> SELECT * { ?s ex:SERVICE ?o }", []),  # a name, not the keyword
    ("SELECT * { ?s ?p '''a SERVICE <http://a/> {} ''' }", []),  # inside a long string
])
def test_service_targets_read_as_the_grammar_reads_them(query, targets):
    assert service_targets(query) == targets


def test_nesting_depth_and_stray_backslashes():
    assert nesting_depth("SELECT * { { ?s ?p ?o FILTER((1)) } }") == 4
    assert nesting_depth("SELECT * { ?s ?p '{{{{' }") == 1  # braces inside a string do not count
    assert stray_backslash("SELECT * { ?s ?p 'a\\'b' }") is None  # an escape inside a string
    assert stray_backslash("PREFIX ex: <http://x/> SELECT * { ?s ex:a\\. ?o }") is None  # an escape in a name
    assert stray_backslash("SELECT * { \\u0053ERVICE <http://a/> {} }") == 11
