"""The LMDB store's files: made private when the store is opened, whatever they were before."""

from __future__ import annotations

import stat
from pathlib import Path

from twofa_server.crypto import Sealer, generate_keyring

from ..support.stores import open_lmdb_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_existing_store_with_open_modes_is_made_private_when_opened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    sealer = Sealer(generate_keyring())
    open_lmdb_store(data_dir, sealer=sealer).close()
    # As an older twofa, a restore or a umask of 022 left them.
    data_dir.chmod(0o755)
    for name in ("data.mdb", "lock.mdb"):
        (data_dir / name).chmod(0o644)

    open_lmdb_store(data_dir, sealer=sealer).close()
    assert mode(data_dir) == 0o700
    assert (mode(data_dir / "data.mdb"), mode(data_dir / "lock.mdb")) == (0o600, 0o600)
