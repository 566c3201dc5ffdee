"""Write failures that say what failed, what to do about it, and that the published version is untouched."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from kg.errors import StoreError

_OS_ERROR_NUMBER = re.compile(r"\(os error (\d+)\)")  # how pyoxigraph's Rust I/O errors name theirs
_WRITE_ADVICE = {
    errno.ENOSPC: "the disk is full: free space there, then run it again",
    errno.EDQUOT: "the disk quota is used up: free space there, then run it again",
    errno.EROFS: "the folder is on a read-only file system: point store_dir at a writable one",
    errno.EACCES: "this user may not write there: fix the folder's permissions or point store_dir elsewhere",
}
_NO_ADVICE = "see the reason above"


def write_failure(action: str, store_dir: Path, exc: OSError) -> StoreError:
    """A StoreError that says what failed, what to do, and that the published version is untouched.

    Python's errors carry the number; pyoxigraph's name it "(os error 28)" or, from RocksDB, only in
    words ("IO error: No space left on device: While appending to file ...").
    """
    number, text = exc.errno, str(exc)
    if number is None:
        match = _OS_ERROR_NUMBER.search(text)
        number = int(match.group(1)) if match else None
    if number is None:
        number = next((n for n in _WRITE_ADVICE if os.strerror(n) in text), None)
    advice = _WRITE_ADVICE.get(number, _NO_ADVICE) if number is not None else _NO_ADVICE
    return StoreError(
        f"cannot {action} the store in {store_dir}: {exc}; {advice}. "
        "The published version is unchanged and still served."
    )
