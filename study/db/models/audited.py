"""The marker every table of study data carries: its inserts, updates and deletes are audited."""

from typing import ClassVar

__all__ = ["Audited"]


class Audited:
    """Mixin for audited tables (see :mod:`study.audit`).

    ``__audit_redact__`` names columns whose values are personal or secret (identity fields,
    password hashes): the audit event records that they changed, never their values, so the
    audit trail does not become a second copy of identifying data.

    ``__audit_immutable__`` marks rows written once and never changed or deleted through the
    application (allocations, the randomisation secret, uploaded allocation tables).
    """

    __audit_redact__: ClassVar[frozenset[str]] = frozenset()
    __audit_immutable__: ClassVar[bool] = False
