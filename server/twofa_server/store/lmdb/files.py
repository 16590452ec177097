"""The LMDB store's files on disk: private whatever the umask, and checked before they are mapped.

LMDB maps data.mdb into memory. A file shorter than its own meta page says (a
copy cut short, a full disk) would crash the process with SIGBUS at the first
read past its end, so the meta pages are read and checked first; a file whose
meta pages are both damaged is refused with one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

import lmdb

from ...errors import OperatorError

DATA_FILE = "data.mdb"
LOCK_FILE = "lock.mdb"
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600  # user ids, tenant ids and device labels are in plaintext there

_MAGIC = 0xBEEFC0DE
_META_PAGES = 2
_PAGE_HEADER = 16  # mp_pgno, mp_pad, mp_flags, mp_lower/upper
# Offsets inside a meta page (LMDB's MDB_meta after the page header, 64-bit builds).
_MAGIC_AT = _PAGE_HEADER  # mm_magic
_PAGE_SIZE_AT = _PAGE_HEADER + 24  # mm_dbs[FREE_DBI].md_pad holds the page size
_LAST_PAGE_AT = _PAGE_HEADER + 120  # mm_last_pg, then mm_txnid


class StoreDamaged(OperatorError):
    """The store's file cannot be what LMDB wrote; the message says what to do."""


def _restore(path: Path) -> str:
    return (
        f"restore the store in {path} from a backup ('twofa backup' makes one) and start "
        "twofa again; do not run 'twofa store init' over it"
    )


def check_data_file(path: Path) -> None:
    """Refuses a data.mdb whose meta pages are damaged, or that is shorter than they say.

    Args:
        path: the data directory.

    Raises:
        StoreDamaged: with one line naming the file and what to do.
    """
    data = path / DATA_FILE
    try:
        size = data.stat().st_size
        with data.open("rb") as file:
            head = file.read(2 * 65536)  # room for two meta pages of the largest page size
    except OSError as error:
        raise StoreDamaged(f"{data} cannot be read ({error.strerror}): {_restore(path)}") from None
    metas = []
    page_size = 0
    for index in range(_META_PAGES):
        offset = index * (page_size or _page_size(head))
        if offset + _LAST_PAGE_AT + 16 > len(head):
            break
        magic = struct.unpack_from("<I", head, offset + _MAGIC_AT)[0]
        if magic != _MAGIC:
            continue
        page_size = struct.unpack_from("<I", head, offset + _PAGE_SIZE_AT)[0] or page_size
        last_page, txnid = struct.unpack_from("<QQ", head, offset + _LAST_PAGE_AT)
        metas.append((txnid, last_page))
    if not metas or not page_size:
        raise StoreDamaged(
            f"{data} is damaged: neither of its meta pages is readable: {_restore(path)}"
        )
    _, last_page = max(metas)
    needed = (last_page + 1) * page_size
    if size < needed:
        raise StoreDamaged(
            f"{data} is damaged: it holds {size} bytes but its records need {needed} "
            f"(the file was cut short): {_restore(path)}"
        )


def _page_size(head: bytes) -> int:
    if len(head) >= _PAGE_SIZE_AT + 4:
        found = struct.unpack_from("<I", head, _PAGE_SIZE_AT)[0]
        if found and found & (found - 1) == 0:  # a power of two
            return int(found)
    return 4096  # the first meta page is damaged: look for the second at the usual size


def reason(error: lmdb.Error) -> str:
    """LMDB's reason for refusing a file, without the path it names."""
    text = str(error)
    return text.rsplit(": ", 1)[-1] if ": " in text else type(error).__name__


def make_private(path: Path) -> None:
    """The directory 0700 and the store's files 0600, whatever the umask was.

    A directory twofa does not own (e.g. a volume mounted for a Kubernetes fsGroup)
    keeps its mode; its files are twofa's and are made private all the same.
    """
    with contextlib.suppress(PermissionError):
        os.chmod(path, DIRECTORY_MODE)
    for name in (DATA_FILE, LOCK_FILE):
        file = path / name
        if file.exists():
            os.chmod(file, FILE_MODE)
