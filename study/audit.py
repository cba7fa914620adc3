"""The audit trail: every insert, update and delete of study data, hash-chained.

Changes are captured from the ORM unit of work (``after_flush``), so no write path can forget
to audit: the events are inserted in the same transaction as the change and vanish with it on
rollback. Bulk ``UPDATE``/``DELETE`` statements against audited tables are refused because they
would bypass the capture, and nothing in the application can change or delete an audit event.
The one sanctioned bulk path, :mod:`study.bulk_write`, computes the same events for a whole
batch and appends them with :func:`append_events`, under the same lock and in the same
transaction.

Each event stores ``hash = HMAC-SHA256(key, content, prev_hash)`` with the study's audit key
(kept outside the database, :mod:`study.audit_key`; the arithmetic is in
:mod:`study.audit_chain`). Identity fields and secrets are stored as keyed digests, never their
values. :func:`verify_chain` (:mod:`study.audit_verify`) recomputes the chain, names the first
event whose content, link or sequence number does not match, and proves that every audited
table holds exactly the rows the events describe.

The capture itself (the session class and its listeners) is :mod:`study.db.audit_capture`, in
the database layer whose units of work use it; this module reads and verifies the trail.
"""

from __future__ import annotations

__all__ = [
    "AuditedSession",
    "ChainReport",
    "GENESIS_HASH",
    "REDACTED",
    "append_events",
    "event_hash",
    "person_history",
    "verify_chain",
]

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.audit_chain import GENESIS_HASH, REDACTED, event_hash
from study.audit_verify import ChainReport, verify_chain
from study.db.audit_capture import AuditedSession, append_events
from study.db.models import AuditEvent, Person

if TYPE_CHECKING:  # pandas only for person_history: every write loads this module
    import pandas as pd

_DIGEST = r"<redacted:[0-9a-f]+>"


# --- verification and reading --------------------------------------------------------------
def person_history(session: Session, person: Person) -> pd.DataFrame:
    """Every audit event about one person (from :func:`study.people.person_by_pseudonym`),
    oldest first.

    Returns a DataFrame with columns ``occurred_at, actor, action, table_name, row_id, field,
    old_value, new_value, reason``. Identity fields appear as ``<redacted>`` (the trail keeps
    keyed digests of them, shown to no one).
    """
    import pandas as pd  # lazily: see the imports at the top

    cols = [
        "occurred_at",
        "actor",
        "action",
        "table_name",
        "row_id",
        "field",
        "old_value",
        "new_value",
        "reason",
    ]
    rows = session.execute(
        select(*(getattr(AuditEvent, c) for c in cols))
        .where(AuditEvent.study_id == person.study_id, AuditEvent.person_id == person.id)
        .order_by(AuditEvent.seq)
    ).all()
    history = pd.DataFrame(rows, columns=cols)
    # The keyed digests prove values to `audit verify`; people need only see that they changed.
    for column in ("old_value", "new_value"):
        history[column] = history[column].str.replace(_DIGEST, REDACTED, regex=True)
    return history
