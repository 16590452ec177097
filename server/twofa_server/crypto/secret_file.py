"""Reading a secret from a file (keyring, bearer token, SMTP password), one way for all.

A secret file must be a regular file that other users can neither read nor
write. Group access is allowed: Kubernetes mounts Secrets group-readable for
the pod's fsGroup.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import OperatorError

_RIGHT_FILE = "check that the setting names the right file"


class SecretFileError(OperatorError):
    """A secret file is missing, unreadable, too open or too large."""


def read_secret_file(path: Path, setting: str, max_bytes: int, if_missing: str = "") -> bytes:
    """Reads a secret file after checking who else may read or change it.

    Args:
        path: the file.
        setting: how the operator named it, e.g. "auth.token_file" or "keyring".
        max_bytes: the most a valid file of this kind can hold.
        if_missing: what to do when the file does not exist (a sentence), if there
            is better advice than checking the path.

    Raises:
        SecretFileError: with a one-line message naming the setting and the file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        advice = if_missing or "check the path"
        raise SecretFileError(f"{setting} {path} not found: {advice}") from None
    except PermissionError as exc:
        raise SecretFileError(
            f"{setting} {path} cannot be opened ({exc.strerror}): {_whose(path)}"
        ) from None
    except OSError as exc:
        raise SecretFileError(
            f"{setting} {path} cannot be opened ({exc.strerror}): "
            "check the path and that this user may read the file"
        ) from None
    try:
        # fstat on the open descriptor checks the very file that is read, not a swapped one.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(
                f"{setting} {path} is not a regular file: set {setting} to the file itself"
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            access = "readable" if mode & stat.S_IROTH else "writable"
            raise SecretFileError(
                f"{setting} {path} is {access} by other users (mode {mode:04o}): "
                f"run 'chmod 600 {path}'"
            )
        if info.st_size > max_bytes:
            raise SecretFileError(f"{setting} {path} is too large: {_RIGHT_FILE}")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise SecretFileError(
            f"{setting} {path} cannot be read ({exc.strerror}): "
            "check that this user may read the file"
        ) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SecretFileError(f"{setting} {path} is too large: {_RIGHT_FILE}")
    return data


def _whose(path: Path) -> str:
    """Advice for a file this process may not read: whose it is, and who this process is
    (a container's user is often not the host user who wrote the file)."""
    me = os.geteuid()
    try:
        info = os.stat(path)
    except OSError:
        return f"check that uid {me}, which twofa runs as, may reach and read the file"
    return (
        f"it belongs to uid {info.st_uid} (mode {stat.S_IMODE(info.st_mode):04o}) and twofa "
        f"runs as uid {me}: give the file to uid {me} (chown), or run twofa as uid "
        f"{info.st_uid}"
    )


def read_secret_line(path: Path, setting: str, max_bytes: int = 4096) -> str:
    """Reads a secret of one line (a password, a token), without its line ending.

    Editors and `echo` add one line ending; anything more is part of no secret.

    Raises:
        SecretFileError: the file is missing, unreadable, too open or too large, empty,
            not UTF-8, or holds more than one line.
    """
    data = read_secret_file(path, setting, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(f"{setting} {path} is not UTF-8 text") from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise SecretFileError(f"{setting} {path} is empty: write the secret into it")
    if "\n" in secret or "\r" in secret:
        raise SecretFileError(f"{setting} {path} holds more than one line")
    return secret
