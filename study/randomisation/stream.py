"""Reproducible random numbers derived from a secret: HMAC-SHA256 in counter mode.

A sequence must be regenerable by the trial statistician years later, on any machine and any
library version, and unpredictable to everyone without the secret. NumPy's ``Generator``
methods do not promise the same stream across versions (NEP 19), so the concealed sequences
use this small, fully specified generator instead:

* block ``i`` (0, 1, 2, …) of the stream labelled ``label`` is
  ``HMAC-SHA256(key=secret, msg=label_utf8 || 0x00 || i as 8-byte big-endian)``;
* the blocks are read as consecutive unsigned 64-bit big-endian integers;
* :meth:`HmacStream.randbelow` draws an integer in ``[0, n)`` by rejection sampling (no modulo
  bias); :meth:`HmacStream.random` a float in ``[0, 1)`` from the top 53 bits.

Anyone holding the secret can re-implement it in a few lines of R or Stata.
"""

from __future__ import annotations

__all__ = ["HmacStream", "NumpyStream", "RandomStream", "secret_from_hex"]

import hashlib
import hmac
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # only NumpyStream's callers (simulations) need numpy; randomising does not
    import numpy as np

_U64 = 1 << 64


class RandomStream(Protocol):
    """What the allocation algorithms draw from."""

    def randbelow(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        ...

    def random(self) -> float:
        """A uniform float in ``[0, 1)``."""
        ...


def secret_from_hex(seed_hex: str) -> bytes:
    """The secret as bytes from its stored hex form; ``ValueError`` if it is not hex."""
    try:
        secret = bytes.fromhex(seed_hex)
    except ValueError as exc:
        raise ValueError("the randomisation secret is not a hex string") from exc
    if len(secret) < 16:
        raise ValueError("the randomisation secret is shorter than 128 bits")
    return secret


class HmacStream:
    """Deterministic stream of random numbers keyed by ``secret`` and ``label``.

    Parameters
    ----------
    secret
        The study's secret seed (at least 16 bytes; peerstudy uses 32 from ``secrets``).
    label
        Names the sequence, e.g. ``blocks|CPH|female`` or ``minimisation|17``: different
        labels give independent streams.

    Examples
    --------
    >>> a = HmacStream(bytes(32), "blocks|CPH")
    >>> b = HmacStream(bytes(32), "blocks|CPH")
    >>> [a.randbelow(6) for _ in range(5)] == [b.randbelow(6) for _ in range(5)]
    True
    """

    def __init__(self, secret: bytes, label: str) -> None:
        if len(secret) < 16:
            raise ValueError("the secret must have at least 16 bytes")
        self._secret = secret
        self._label = label.encode("utf-8") + b"\x00"
        self._block = 0
        self._buffer = b""

    def _next_u64(self) -> int:
        if len(self._buffer) < 8:
            message = self._label + self._block.to_bytes(8, "big")
            self._buffer += hmac.new(self._secret, message, hashlib.sha256).digest()
            self._block += 1
        value, self._buffer = int.from_bytes(self._buffer[:8], "big"), self._buffer[8:]
        return value

    def randbelow(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` (rejection sampling: no modulo bias)."""
        if n < 1:
            raise ValueError(f"randbelow needs n >= 1, got {n}")
        limit = _U64 - _U64 % n
        while True:
            value = self._next_u64()
            if value < limit:
                return value % n

    def random(self) -> float:
        """A uniform float in ``[0, 1)`` with 53 random bits."""
        return (self._next_u64() >> 11) / float(1 << 53)


class NumpyStream:
    """The same interface over a NumPy ``Generator``: fast, for simulations only (never for a
    trial's concealed sequence, which must be regenerable across library versions)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def randbelow(self, n: int) -> int:
        if n < 1:
            raise ValueError(f"randbelow needs n >= 1, got {n}")
        return int(self._rng.integers(n))

    def random(self) -> float:
        return float(self._rng.random())
