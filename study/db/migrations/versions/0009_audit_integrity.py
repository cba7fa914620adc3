"""audit integrity: keyed chain, triggers refusing changes of audit events

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-26 07:15:00

An existing chain (hashed with plain SHA-256 before this revision) is first verified as it
was, then re-hashed with the study's audit key (HMAC-SHA256, study.audit_chain) in place, so
from here on only the key holder can extend it. A chain that does not verify is not converted:
the upgrade stops. Then the triggers that refuse UPDATE/DELETE of audit events are created.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from study.audit_chain import CHAIN_FIELDS, GENESIS_HASH, event_hash, legacy_event_hash
from study.audit_key import key_path, load_key
from study.db.audit_guard import install_audit_guard, remove_audit_guard
from study.db.types import UTCDateTime

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _rekey(conn) -> None:
    events = sa.table(
        "audit_event",
        *(sa.column(n, UTCDateTime()) if n == "occurred_at" else sa.column(n) for n in ("id", "hash", *CHAIN_FIELDS)),
    )
    rows = conn.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
    if not rows:
        return
    key = load_key(key_path(conn.engine))
    prev_old, prev_new = GENESIS_HASH, GENESIS_HASH
    for row in rows:
        row = dict(row)
        if row["prev_hash"] != prev_old or legacy_event_hash(row) != row["hash"]:
            raise RuntimeError(
                f"audit event {row['seq']} does not verify; the chain is not converted to a keyed "
                "one (restore a backup, or keep the database at revision 0007 and investigate)"
            )
        prev_old = row["hash"]
        row["prev_hash"] = prev_new
        prev_new = event_hash(row, key)
        conn.execute(
            events.update().where(events.c.id == row["id"]).values(prev_hash=row["prev_hash"], hash=prev_new)
        )


def upgrade() -> None:
    conn = op.get_bind()
    _rekey(conn)
    install_audit_guard(conn)


def downgrade() -> None:
    remove_audit_guard(op.get_bind())
