"""Stratified permuted blocks with randomly varying block sizes.

Each stratum has its own list, drawn from the stream ``blocks|<stratum>``: a block size is
chosen uniformly among the configured sizes, the block holds each arm in proportion to its
ratio (a 1:1 block of 4 holds two of each), and the block is shuffled (Fisher–Yates). Varying
the block size keeps the end of a block from being guessed by whoever knows the earlier
allocations (Schulz & Grimes 2002).

References
----------
Schulz KF, Grimes DA. Unequal group sizes in randomised trials: guarding against guessing.
Lancet 2002;359:966–970.
Efird J. Blocked randomization with randomly selected block sizes. Int J Environ Res Public
Health 2011;8:15–20.
"""

from __future__ import annotations

__all__ = ["BLOCK_COLUMNS", "BlockArms", "block_sequence", "blocks_stream"]

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported lazily (below): `peerstudy randomise` never needs it
    import pandas as pd

from study.randomisation.stream import HmacStream, RandomStream

#: Columns of :func:`block_sequence`'s result.
BLOCK_COLUMNS = ["position", "arm", "block", "block_size", "position_in_block"]


def blocks_stream(secret: bytes, stratum: str) -> HmacStream:
    """The concealed stream of a stratum's block list."""
    return HmacStream(secret, f"blocks|{stratum}")


def _check(ratios: Mapping[str, int], block_sizes: Sequence[int]) -> int:
    if not ratios or any(r < 1 for r in ratios.values()):
        raise ValueError(f"ratios must be positive whole numbers, got {dict(ratios)}")
    total = sum(ratios.values())
    if not block_sizes or any(s < 1 or s % total for s in block_sizes):
        raise ValueError(
            f"block sizes {list(block_sizes)} must be positive multiples of the ratio sum {total}"
        )
    return total


def _blocks(
    stream: RandomStream, ratios: Mapping[str, int], block_sizes: Sequence[int]
) -> Iterator[list[str]]:
    """The blocks of the list, one shuffled list of arm codes each, without end."""
    total = _check(ratios, block_sizes)
    while True:
        size = block_sizes[stream.randbelow(len(block_sizes))]
        content = [arm for arm, r in ratios.items() for _ in range(r * size // total)]
        # Fisher–Yates, from the end, with unbiased draws.
        for i in range(len(content) - 1, 0, -1):
            j = stream.randbelow(i + 1)
            content[i], content[j] = content[j], content[i]
        yield content


class BlockArms:
    """The arms of one permuted-block list, generated as far as asked and kept.

    ``BlockArms(stream, ratios, block_sizes).arm(k)`` equals ``block_sequence(stream, ratios,
    block_sizes, k)["arm"].iloc[-1]`` for a fresh stream, but costs only the blocks not yet
    generated: a randomising process keeps one per stratum instead of regenerating the list
    from slot 1 at every allocation.
    """

    def __init__(self, stream: RandomStream, ratios: Mapping[str, int], block_sizes: Sequence[int]) -> None:
        self._blocks = _blocks(stream, ratios, block_sizes)
        self._arms: list[str] = []

    def arm(self, position: int) -> str:
        """The arm code of slot ``position`` (1-based)."""
        if position < 1:
            raise ValueError(f"slot positions start at 1, got {position}")
        while len(self._arms) < position:
            self._arms += next(self._blocks)
        return self._arms[position - 1]


def block_sequence(
    stream: RandomStream,
    ratios: Mapping[str, int],
    block_sizes: Sequence[int],
    length: int,
    complete_blocks: bool = False,
) -> pd.DataFrame:
    """The first ``length`` slots of a permuted-block list.

    Parameters
    ----------
    stream
        Source of randomness; :func:`blocks_stream` for a trial's concealed list. The same
        stream state gives the same list, and slot ``k`` does not depend on ``length``.
    ratios
        Arm code → allocation ratio share (``{"INT": 1, "CTL": 1}``), in a fixed order.
    block_sizes
        Sizes to choose from uniformly; each a multiple of the ratio sum.
    length
        Number of slots wanted (≥ 0).
    complete_blocks
        Extend the list to the end of the block holding slot ``length``.

    Returns
    -------
    DataFrame
        One row per slot:

        * ``position`` – 1-based slot number in the stratum;
        * ``arm`` – the arm code;
        * ``block`` – 1-based block number;
        * ``block_size`` – size of that block;
        * ``position_in_block`` – 1-based place within the block.
    """
    import pandas as pd  # lazily: see the import at the top

    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    _check(ratios, block_sizes)
    arms: list[str] = []
    blocks: list[int] = []
    sizes: list[int] = []
    places: list[int] = []
    block = 0
    generator = _blocks(stream, ratios, block_sizes)
    while len(arms) < length:
        block += 1
        content = next(generator)
        size = len(content)
        arms += content
        blocks += [block] * size
        sizes += [size] * size
        places += list(range(1, size + 1))
    keep = len(arms) if complete_blocks else length
    return pd.DataFrame(
        {
            "position": range(1, keep + 1),
            "arm": arms[:keep],
            "block": blocks[:keep],
            "block_size": sizes[:keep],
            "position_in_block": places[:keep],
        },
        columns=BLOCK_COLUMNS,
    )
