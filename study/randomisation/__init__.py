"""Concealed randomisation: permuted blocks, minimisation and allocation tables.

Pure algorithms (``sequence``, ``minimisation``, ``table``, ``balance``, ``stream``) take data
and return data; ``service`` is the database side (locks, checks, allocation, verification).
"""

from study.randomisation.service import (
    AllocationResult,
    allocations_frame,
    load_allocation_table,
    pending_pseudonyms,
    randomise,
    randomise_pending,
    reveal_sequence,
    verify_allocations,
)

__all__ = [
    "AllocationResult",
    "allocations_frame",
    "load_allocation_table",
    "pending_pseudonyms",
    "randomise",
    "randomise_pending",
    "reveal_sequence",
    "verify_allocations",
]
