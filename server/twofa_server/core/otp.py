"""One-time-password math: HOTP (RFC 4226), TOTP (RFC 6238) and the otpauth:// key URI.

Pure functions only: the time is an argument and randomness is injected, so this
module reads no clock and does no I/O. It is written directly on hashlib (one
HMAC path, keyed once per verification) because a verification runs on every
login and pyotp costs two to three times as much per call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

PERIOD_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20

# RFC 6238 §1.2 names these three; anything else would not be understood by
# authenticator apps and is more likely a caller's mistake than a choice.
_DIGESTS = frozenset({"sha1", "sha256", "sha512"})
# Dynamic truncation yields a 31-bit number (at most 2147483647), so ten digits
# is the most it can fill.
_MAX_DIGITS = 10
_MAX_COUNTER = (1 << 64) - 1
_COUNTER = struct.Struct(">Q")
_WORD = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class TotpParameters:
    """How an authenticator computes its codes (the otpauth:// URI's parameters).

    Attributes:
        digits: code length, 6 or 8 (what authenticator apps show).
        period: seconds per time step, 30 or 60.
        algorithm: the HMAC's hash: "sha1" (what apps assume), "sha256" or "sha512".
            SHA-1 only ever serves inside HMAC, where its broken collision
            resistance does not matter.
    """

    digits: int = DIGITS
    period: int = PERIOD_SECONDS
    algorithm: str = "sha1"


DEFAULT = TotpParameters()
ALLOWED_DIGITS = (6, 8)
ALLOWED_PERIODS = (30, 60)
ALLOWED_ALGORITHMS = ("sha1", "sha256", "sha512")


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """Computes an HOTP value (RFC 4226 §5.3).

    Args:
        key: the shared secret.
        counter: the moving factor, 0 <= counter < 2**64.
        digits: length of the code, 1 to 10.
        digest: hash function of the HMAC: "sha1", "sha256" or "sha512".

    Returns:
        The code as a decimal string of exactly `digits` characters (zero-padded).

    Raises:
        ValueError: if the counter, the number of digits or the digest is out of range.
    """
    if not 0 <= counter <= _MAX_COUNTER:
        raise ValueError(f"counter must be in [0, 2**64), got {counter}")
    if not 1 <= digits <= _MAX_DIGITS:
        raise ValueError(f"digits must be between 1 and {_MAX_DIGITS}, got {digits}")
    if digest not in _DIGESTS:
        raise ValueError(f"digest must be one of {sorted(_DIGESTS)}, got {digest!r}")
    value = _truncate(_KeyedHmac(key, digest).mac(counter))
    return f"{value % 10**digits:0{digits}d}"


def time_step(unix_seconds: float, period: int = PERIOD_SECONDS) -> int:
    """Returns the TOTP time step T = floor(unix_seconds / period) (RFC 6238 §4.2, T0 = 0).

    Args:
        unix_seconds: the time, in seconds since the Unix epoch.
        period: the step length X in seconds, at least 1.

    Returns:
        The number of whole periods since the epoch.

    Raises:
        ValueError: if `period` is not positive.
    """
    if period < 1:
        raise ValueError(f"period must be at least 1 second, got {period}")
    # Floor division, not int(a / b): int() rounds towards zero, and a float
    # quotient can round up to the next integer just before a boundary.
    return int(unix_seconds // period)


def totp(key: bytes, unix_seconds: float, digits: int = DIGITS, digest: str = "sha1") -> str:
    """Computes the TOTP value at a given time (RFC 6238, 30-second steps from T0 = 0).

    Args:
        key: the shared secret.
        unix_seconds: the time, in seconds since the Unix epoch (not before it).
        digits: length of the code, 1 to 10.
        digest: hash function of the HMAC: "sha1", "sha256" or "sha512".

    Returns:
        The code as a zero-padded decimal string of `digits` characters.

    Raises:
        ValueError: if the time is before the epoch or another argument is out of range.
    """
    return hotp(key, time_step(unix_seconds), digits, digest)


def matching_steps(
    key: bytes,
    code: str,
    unix_seconds: float,
    window: int = 1,
    params: TotpParameters = DEFAULT,
    center: int = 0,
) -> tuple[int, ...]:
    """Finds the time steps near `unix_seconds` whose TOTP equals `code`.

    Every candidate step is computed and compared in constant time, matched or
    not, so the response time does not tell which of the steps matched. Replay
    protection is the caller's: accept only a step greater than the last accepted one.

    Args:
        key: the shared secret.
        code: the code the user typed (core/codes.py has decided it has the right
            number of digits; anything else simply never matches).
        unix_seconds: the verifier's current time, in seconds since the Unix epoch.
        window: how many steps before and after the centre are tolerated
            (RFC 6238 §5.2 recommends at most one).
        params: the authenticator's digits, period and algorithm.
        center: the window's centre in steps from the current one (a learnt clock drift).

    Returns:
        The matching steps in [step + center - window, step + center + window],
        ascending; empty when none matches. More than one is possible (a coincidence).

    Raises:
        ValueError: if `window` is negative.
    """
    if window < 0:
        raise ValueError(f"window must not be negative, got {window}")
    step = time_step(unix_seconds, params.period) + center
    return steps_matching(key, code, range(step - window, step + window + 1), params)


def steps_matching(
    key: bytes, code: str, steps: Iterable[int], params: TotpParameters = DEFAULT
) -> tuple[int, ...]:
    """The steps among `steps` (outside [0, 2**64) ignored) whose TOTP equals `code`,
    each compared in constant time."""
    typed = code.encode("utf-8")
    modulus = 10**params.digits
    keyed = _KeyedHmac(key, params.algorithm)
    matches: list[int] = []
    for candidate in steps:
        if not 0 <= candidate <= _MAX_COUNTER:
            continue
        value = _truncate(keyed.mac(candidate))
        if hmac.compare_digest(b"%0*d" % (params.digits, value % modulus), typed):
            matches.append(candidate)
    return tuple(matches)


def generate_secret(token_bytes: Callable[[int], bytes]) -> bytes:
    """Draws a new TOTP secret: 160 bits, the HMAC-SHA-1 key length RFC 4226 §4 recommends.

    Args:
        token_bytes: a cryptographically secure source, e.g. `secrets.token_bytes`.

    Returns:
        `SECRET_BYTES` random bytes.

    Raises:
        ValueError: if the source returns the wrong number of bytes.
    """
    secret = token_bytes(SECRET_BYTES)
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"randomness source returned {len(secret)} bytes, not {SECRET_BYTES}")
    return secret


def base32_secret(secret: bytes) -> str:
    """Encodes a secret the way authenticator apps expect it typed or in a URI.

    Args:
        secret: the raw secret.

    Returns:
        RFC 4648 base32, uppercase, without '=' padding (the Key URI format omits it).
    """
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def provisioning_uri(
    secret: bytes, account_name: str, issuer: str, params: TotpParameters = DEFAULT
) -> str:
    """Builds the otpauth:// URI that an authenticator app scans from a QR code.

    The format is Google Authenticator's Key URI
    (https://github.com/google/google-authenticator/wiki/Key-Uri-Format): the
    issuer appears both as the label prefix and as a parameter, because older apps
    read only the former and newer ones prefer the latter.

    Args:
        secret: the raw TOTP secret.
        account_name: the user's account as shown in the app, e.g. an email address.
        issuer: the service name shown in the app.
        params: the digits, period and algorithm the app must use.

    Returns:
        `otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30`,
        with the label parts and the issuer parameter percent-encoded (a space is
        %20: several apps show a '+' literally).

    Raises:
        ValueError: if the secret, account or issuer is empty, or the account or
            issuer contains ':', which apps would take for the label separator.
    """
    if not secret:
        raise ValueError("secret must not be empty")
    for name, value in (("issuer", issuer), ("account_name", account_name)):
        if not value:
            raise ValueError(f"{name} must not be empty")
        if ":" in value:
            raise ValueError(f"{name} must not contain ':'")
    encoded_issuer = quote(issuer, safe="")
    return (
        f"otpauth://totp/{encoded_issuer}:{quote(account_name, safe='')}"
        f"?secret={base32_secret(secret)}&issuer={encoded_issuer}"
        f"&algorithm={params.algorithm.upper()}&digits={params.digits}&period={params.period}"
    )


class _KeyedHmac:
    """HMAC (RFC 2104) of one key over many counters: the key's inner and outer hash
    states are computed once, and each counter costs two hash blocks instead of four.

    A wrong app code is compared with every step within ten minutes (41 at 30 s), so
    this halves the hashing of the call an attacker makes most (bench/README.md has
    the figures); `hmac.digest` would key both states again for every step.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, digest: str) -> None:
        inner, outer = hashlib.new(digest), hashlib.new(digest)
        if len(key) > inner.block_size:
            key = hashlib.new(digest, key).digest()
        key = key.ljust(inner.block_size, b"\0")
        inner.update(key.translate(_IPAD))
        outer.update(key.translate(_OPAD))
        self._inner, self._outer = inner, outer

    def mac(self, counter: int) -> bytes:
        inner = self._inner.copy()
        inner.update(_COUNTER.pack(counter))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def _truncate(mac: bytes) -> int:
    """RFC 4226 §5.3 dynamic truncation: 31 bits read at the offset the last nibble names."""
    # unpack_from reads in place; slicing then int.from_bytes would allocate twice.
    word: int = _WORD.unpack_from(mac, mac[-1] & 0x0F)[0]
    return word & 0x7FFFFFFF
