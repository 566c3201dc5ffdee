"""Refresh the vendored YASGUI (SPARQL query editor) in kg/static/vendor/yasgui/ from its npm package.

    python scripts/refresh_vendor.py [--version X]

Why: the query page serves YASGUI from our own origin (no CDN, no Node toolchain, a CSP of 'self'), and this is
the one way those files change. It fetches the pinned version's registry metadata and tarball, checks the tarball
against ``dist.integrity`` (sha512) before reading it, keeps only what a page loads without a bundler (minified
bundle, CSS, the files the CSS references) and the licence, records package, version, licence, tarball, integrity and
each file's sha256 in VENDORED.json (tests/test_vendored.py checks them), and swaps the folder in by rename.
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
from pathlib import Path

PACKAGE = "@zazuko/yasgui"
VERSION = "4.6.2"
REGISTRY = "https://registry.npmjs.org"
ENTRY_FILES = ("build/yasgui.min.js", "build/yasgui.min.css")  # in the tarball's package/; output is flat
TARGET = Path(__file__).resolve().parent.parent / "kg" / "static" / "vendor" / "yasgui"
TIMEOUT, DEADLINE, MAX_BYTES = 30, 120, 64 << 20  # seconds per socket operation, seconds and bytes per download
# The tarball has no licence file (it is at the root of the source repo, github.com/rdfjs/Yasgui): this is its text
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
INJECTED_STYLE = re.compile(rb"createStyle\(\w+,`([^`]*)`")
CSS_URL = re.compile(rb"url\(\s*['\"]?([^'\")]+)")


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
    if not member.isfile():
        raise ValueError(f"{name} in the tarball is not a regular file")
    return tar.extractfile(member).read()


def collect(tar: tarfile.TarFile, licence: str) -> dict[str, bytes]:
    """Output name -> content: the entry files, the files they reference, LICENSE."""
    files: dict[str, bytes] = {}
    pending = list(ENTRY_FILES)
    while pending:
        name = pending.pop()
        out = Path(name).relative_to(Path(ENTRY_FILES[0]).parent).as_posix()  # ValueError outside build/
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
    licence_files = [m.name for m in tar.getmembers() if re.fullmatch(r"(?i)package/licen[cs]e(\.md|\.txt)?", m.name)]
    if licence_files:
        files["LICENSE"] = read_member(tar, licence_files[0].removeprefix("package/"))
    elif licence == "MIT":
        files["LICENSE"] = MIT_TEXT.encode()
    else:
        raise ValueError(f"the tarball has no licence file, and package.json's licence is {licence!r}, not MIT")
    return files


def refresh(version: str) -> dict:
    meta = json.loads(download(f"{REGISTRY}/{urllib.parse.quote(PACKAGE, safe='@')}/{version}"))
    tarball, integrity = meta["dist"]["tarball"], meta["dist"]["integrity"]
    if not tarball.startswith(REGISTRY + "/"):
        raise ValueError(f"tarball {tarball} is not on {REGISTRY}")
    data = download(tarball)
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if algorithm != "sha512" or not hmac.compare_digest(actual, expected):  # before anything reads the archive
        raise ValueError(f"tarball sha512-{actual} does not match the registry's dist.integrity {integrity}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        package_json = json.loads(read_member(tar, "package.json"))
        if (package_json.get("name"), package_json.get("version")) != (PACKAGE, version):
            raise ValueError(f"the tarball holds {package_json.get('name')} {package_json.get('version')}")
        files = collect(tar, licence := str(package_json.get("license")))
    hashes = {out: hashlib.sha256(content).hexdigest() for out, content in sorted(files.items())}
    record = dict(package=PACKAGE, version=version, licence=licence, tarball=tarball, integrity=integrity, files=hashes)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{TARGET.name}.new-", dir=TARGET.parent))
    old = TARGET.with_name(staging.name.replace(".new-", ".old-"))
    try:
        for out, content in files.items():
            (staging / out).parent.mkdir(parents=True, exist_ok=True)
            (staging / out).write_bytes(content)
        (staging / "VENDORED.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it 0700
        if TARGET.exists():
            TARGET.rename(old)
        staging.rename(TARGET)  # the folder is whole, old or new, but for the instant between two renames
    finally:
        if old.exists() and not TARGET.exists():  # the second rename failed: put the old folder back
            old.rename(TARGET)
        shutil.rmtree(staging, ignore_errors=True)  # left only when a step failed
        shutil.rmtree(old, ignore_errors=True)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=VERSION, help=f"version of {PACKAGE} (default: {VERSION})")
    args = parser.parse_args(argv)
    try:
        record = refresh(args.version)
    except (OSError, ValueError, KeyError, tarfile.TarError) as error:  # URLError is an OSError
        print(f"refresh_vendor: {PACKAGE} {args.version}: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print("\n".join(f"{h[:16]}  {(TARGET / out).stat().st_size:>9}  {out}" for out, h in record["files"].items()))
    print(f"{PACKAGE} {record['version']} ({record['licence']}) -> {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
