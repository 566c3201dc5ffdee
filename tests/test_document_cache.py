"""Whole documents kept per worker within a byte bound (kg.web.document_cache), and /dump and /data using it."""

from __future__ import annotations

from kg.web.document_cache import DocumentCache


def test_documents_are_kept_least_recently_used_first_out_within_the_bound():
    cache = DocumentCache(10)
    made = []

    def make(value: bytes):
        def _make() -> bytes:
            made.append(value)
            return value

        return _make

    assert cache.get("a", make(b"aaaa"), len) == b"aaaa"
    assert cache.get("b", make(b"bbbb"), len) == b"bbbb"
    assert cache.get("a", make(b"xxxx"), len) == b"aaaa"  # kept: not made again
    cache.get("c", make(b"cccc"), len)  # 12 bytes: the least recently used, b, goes
    assert cache.size == 8 and len(cache) == 2
    assert cache.get("b", make(b"BBBB"), len) == b"BBBB"
    assert cache.get("huge", make(b"h" * 11), len) == b"h" * 11  # served, never kept
    assert cache.get("huge", make(b"H" * 11), len) == b"H" * 11
    assert made == [b"aaaa", b"bbbb", b"cccc", b"BBBB", b"h" * 11, b"H" * 11]
    assert cache.size <= 10


def test_cycling_the_dump_s_formats_serialises_each_once(client, monkeypatch):
    from kg.web import data

    calls = []
    real = data.dump

    def counted(*args, **kwargs):
        calls.append(kwargs["format"])
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "dump", counted)
    state = client.application.extensions["kg"]
    state.documents = DocumentCache(state.settings.dump_cache_bytes)
    bodies = {}
    for fmt in ("trig", "nquads", "trig", "nquads", "trig"):
        response = client.get(f"/dump?format={fmt}")
        assert response.status_code == 200
        assert bodies.setdefault(fmt, response.data) == response.data
    assert calls == ["trig", "nquads"]
    described = client.get("/dump/description?format=trig")
    assert described.status_code == 200 and calls == ["trig", "nquads"]  # made with its dump


def test_a_dump_over_the_bound_is_served_and_not_kept(client, monkeypatch):
    state = client.application.extensions["kg"]
    state.documents = DocumentCache(1024)  # smaller than any dump of the seed graph
    first = client.get("/dump?format=nquads")
    second = client.get("/dump?format=nquads")
    assert first.status_code == second.status_code == 200 and first.data == second.data
    assert len(state.documents) == 0


def test_a_profile_s_dump_is_the_export_of_that_profile_and_kept_per_profile(client, settings, store, monkeypatch):
    from kg.exchange.export import dump
    from kg.web import data

    calls = []
    real = data.dump

    def counted(*args, **kwargs):
        calls.append((kwargs["format"], kwargs.get("profile_id")))
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "dump", counted)
    state = client.application.extensions["kg"]
    state.documents = DocumentCache(state.settings.dump_cache_bytes)
    for _ in range(2):
        for profile in ("regions", "parks-and-agreements", None):
            query = f"/dump?format=nquads{f'&profile={profile}' if profile else ''}"
            response = client.get(query)
            assert response.status_code == 200
            if profile:
                expected = dump(settings, format="nquads", profile_id=profile, store=store).payload
                assert response.data == expected and profile in response.headers["Content-Disposition"]
                assert f"profile={profile}" in response.headers["Link"]
    assert calls == [("nquads", "regions"), ("nquads", "parks-and-agreements"), ("nquads", None)]
    described = client.get("/dump/description?format=nquads&profile=regions")
    assert described.status_code == 200 and len(calls) == 3
    unknown = client.get("/dump?format=nquads&profile=nothing")
    assert unknown.status_code == 400 and "regions" in unknown.get_json()["error"]


def test_the_bound_holds_with_many_threads_at_once():
    import threading

    cache = DocumentCache(100)
    errors = []

    def client(number: int) -> None:
        try:
            for round_ in range(200):
                key = (number * 7 + round_) % 40
                value = cache.get(key, lambda k=key: bytes(10 + k % 5), len)
                assert len(value) == 10 + key % 5  # whoever made it, a key's document is that key's
                assert cache.size <= 100
        except AssertionError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and cache.size <= 100
    assert cache.size == sum(len(v) for v, _ in cache._kept.values())
