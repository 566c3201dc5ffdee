"""Writing a graph to a remote store through the SPARQL 1.1 Graph Store Protocol (``kg push``): one request per
batch of N-Triples, with a bearer token or HTTP digest authentication when the store wants one.

Virtuoso 7's Graph Store endpoint needs two things the others do not. It ignores Content-Type and guesses
the format from a body's first 64 KiB: as nothing when fewer than three lines end there (the build record's
JSON report is one long line), as HTML when a literal there holds a tag. Every body therefore starts with
``PREAMBLE``, 64 KiB of comment lines, which it reads as Turtle (N-Triples is Turtle) and every store skips.
And it answers a request without credentials with 401 and closes the connection while a large body is still
on its way, so urllib's digest handler, which sends the request again once it has the challenge, never sees
the 401: the challenge is fetched first by a request without a body (``_authorize``).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from rdflib import URIRef

from kg.errors import StoreError

PREAMBLE = (b"#" * 1023 + b"\n") * 64
NEEDS_CREDENTIALS = "the store asks for a user and password: --user, --password"


def send(
    method: str,
    data_url: str,
    graph: URIRef,
    body: bytes,
    *,
    timeout: float,
    token: str | None = None,
    credentials: tuple[str, str] | None = None,
) -> None:
    """PUT (replace) or POST (add to) ``graph`` with the N-Triples ``body``; StoreError saying what failed."""
    separator = "&" if "?" in data_url else "?"
    url = f"{data_url}{separator}{urllib.parse.urlencode({'graph': str(graph)})}"
    headers = {"Content-Type": "application/n-triples"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=PREAMBLE + body, method=method, headers=headers)
    try:
        if credentials:
            _authorize(request, credentials, timeout)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        hint = f" ({_credentials_hint(credentials)})" if exc.code == 401 else ""
        raise StoreError(f"the remote store refused {method} of <{graph}>: HTTP {exc.code}{hint} {detail}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        try:  # a store that cut the body short to answer 401 (Virtuoso) says so to a HEAD
            refused = isinstance(reason, ConnectionError) and _challenge(url, timeout) is not None
        except OSError:
            refused = False
        if refused:
            hint = _credentials_hint(credentials)
            raise StoreError(f"the remote store refused {method} of <{graph}>: {hint}") from exc
        raise StoreError(
            f"the remote store at {data_url} cannot be reached or did not answer ({reason}); "
            "rerun the push to complete it"
        ) from exc


def _credentials_hint(credentials: tuple[str, str] | None) -> str:
    """What to do about a refused write that asked for authentication."""
    return f"is the password of {credentials[0]} right?" if credentials else NEEDS_CREDENTIALS


def _challenge(url: str, timeout: float) -> str | None:
    """The digest challenge with which the store refuses a request without credentials (a HEAD, without a
    body), or None if it asks for none; OSError if it cannot be reached."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError as exc:
        scheme, _, challenge = (exc.headers.get("WWW-Authenticate") or "").partition(" ")
        return challenge if exc.code == 401 and scheme.lower() == "digest" else None


def _authorize(request: urllib.request.Request, credentials: tuple[str, str], timeout: float) -> None:
    """Give ``request`` urllib's digest authentication, answering a fresh challenge, before its body is sent."""
    challenge = _challenge(request.full_url, timeout)
    if challenge is None:
        return
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, request.full_url, *credentials)
    fields = urllib.request.parse_keqv_list([item for item in urllib.request.parse_http_list(challenge) if item])
    answer = urllib.request.HTTPDigestAuthHandler(passwords).get_authorization(request, fields)
    if answer:
        request.add_unredirected_header("Authorization", f"Digest {answer}")
