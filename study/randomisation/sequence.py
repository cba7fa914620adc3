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

__all__ = ["BLOCK_COLUMNS", "block_sequence", "blocks_stream"]

from collections.abc import Mapping, Sequence

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
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    total = _check(ratios, block_sizes)
    arms: list[str] = []
    blocks: list[int] = []
    sizes: list[int] = []
    places: list[int] = []
    block = 0
    while len(arms) < length:
        block += 1
        size = block_sizes[stream.randbelow(len(block_sizes))]
        content = [arm for arm, r in ratios.items() for _ in range(r * size // total)]
        # Fisher–Yates, from the end, with unbiased draws.
        for i in range(len(content) - 1, 0, -1):
            j = stream.randbelow(i + 1)
            content[i], content[j] = content[j], content[i]
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
