"""The vendored YASGUI in kg/static/vendor/yasgui/ is what scripts/refresh_vendor.py recorded in VENDORED.json.

No network: each file has its recorded sha256 and no file is unrecorded, LICENSE states the licence that the
package's package.json declares, and the bundle names no CDN host (the page must load nothing from one). The
last test tampers with a copy of the folder to show each check fails when it should.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from helpers import ROOT

VENDOR = ROOT / "kg" / "static" / "vendor" / "yasgui"
CDN_HOSTS = ("unpkg.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com", "fonts.googleapis.com")
# phrases a licence's text has; a licence not listed here must be named in its LICENSE by its SPDX id
LICENCE_PHRASES = {"MIT": ("MIT License", "Permission is hereby granted, free of charge, to any person")}


def record(folder: Path) -> dict:
    return json.loads((folder / "VENDORED.json").read_text(encoding="utf-8"))


def hash_problems(folder: Path) -> list[str]:
    files = record(folder)["files"]
    problems = [] if files else ["VENDORED.json lists no file"]
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif (actual := hashlib.sha256(path.read_bytes()).hexdigest()) != digest:
            problems.append(f"{name}: sha256 {actual}, recorded {digest}")
    on_disk = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    problems += [f"{name}: not in VENDORED.json" for name in sorted(on_disk - set(files) - {"VENDORED.json"})]
    return problems


def licence_problems(folder: Path) -> list[str]:
    licence = record(folder)["licence"]
    if "LICENSE" not in record(folder)["files"] or not (folder / "LICENSE").is_file():
        return ["no LICENSE"]
    text = (folder / "LICENSE").read_text(encoding="utf-8")
    return [
        f"LICENSE lacks {phrase!r} ({licence})"
        for phrase in LICENCE_PHRASES.get(licence, (licence,))
        if phrase not in text
    ]


def bundle(folder: Path) -> list[str]:
    return [name for name in record(folder)["files"] if name.endswith((".js", ".css"))]


def cdn_references(folder: Path) -> list[str]:
    found = []
    for name in bundle(folder):
        content = (folder / name).read_bytes().lower()
        found += [f"{name}: {host}" for host in CDN_HOSTS if host.encode() in content]
    return found


def test_record_names_the_package_and_its_integrity():
    vendored = record(VENDOR)
    assert vendored["package"] in ("@zazuko/yasgui", "@triply/yasgui")
    assert vendored["version"] and vendored["integrity"].startswith("sha512-")
    assert vendored["tarball"].endswith(f"-{vendored['version']}.tgz")


def test_every_file_has_its_recorded_sha256():
    assert hash_problems(VENDOR) == []


def test_licence_file_states_the_package_licence():
    assert licence_problems(VENDOR) == []


def test_bundle_names_no_cdn_host():
    assert {Path(name).suffix for name in bundle(VENDOR)} == {".js", ".css"}
    assert cdn_references(VENDOR) == []


def flip_a_byte(folder: Path) -> None:
    path = folder / "yasgui.min.js"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def add_cdn_link(folder: Path) -> None:
    with (folder / "yasgui.min.css").open("a", encoding="utf-8") as css:
        css.write("@import url(https://fonts.googleapis.com/css?family=Roboto);\n")


@pytest.mark.parametrize(
    ("tamper", "check", "expected"),
    [
        (flip_a_byte, hash_problems, "yasgui.min.js: sha256"),
        (lambda folder: (folder / "yasgui.min.css").unlink(), hash_problems, "yasgui.min.css: missing"),
        (lambda folder: (folder / "extra.js").write_text("1"), hash_problems, "extra.js: not in VENDORED.json"),
        (lambda folder: (folder / "LICENSE").unlink(), licence_problems, "no LICENSE"),
        (lambda folder: (folder / "LICENSE").write_text("Apache License 2.0"), licence_problems, "LICENSE lacks"),
        (add_cdn_link, cdn_references, "yasgui.min.css: fonts.googleapis.com"),
    ],
    ids=["changed-byte", "missing-file", "unlisted-file", "no-licence", "wrong-licence", "cdn-link"],
)
def test_each_check_fails_on_a_tampered_copy(tmp_path, tamper, check, expected):
    copy = tmp_path / "yasgui"
    shutil.copytree(VENDOR, copy)
    assert check(copy) == []
    tamper(copy)
    assert any(problem.startswith(expected) for problem in check(copy)), check(copy)
