"""hostile input and logins: login throttling table; studies marked demo; pseudonyms upper-case

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-26 07:20:00

Pseudonyms are compared case-insensitively from now on (``p0001`` is ``P0001``): existing ones
are trimmed and upper-cased here. When two people of one study differ only in case the
upgrade stops and names them; merge or rename them first (that needs a person's judgement).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import study.db.types

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
    sa.UniqueConstraint('kind', 'key', name=op.f('uq_login_throttle_kind_key'))
    )
    # A plain ADD COLUMN, not a batch: on SQLite a batch recreates the table, and dropping
    # ``study`` with foreign keys on would cascade to every row of the study.
    op.add_column('study', sa.Column('is_demo', sa.Boolean(), server_default=sa.false(), nullable=False))
    _mark_demo_studies()
    _normalise_pseudonyms()


def _mark_demo_studies() -> None:
    # Before this revision the demo wrote its logins with the public password; a study whose
    # audit trail shows the demo creating it is a demo study.
    op.get_bind().execute(sa.text(
        "UPDATE study SET is_demo = :yes WHERE CAST(id AS VARCHAR(64)) IN (SELECT row_id FROM audit_event "
        "WHERE table_name = 'study' AND action = 'insert' AND actor = 'demo')"
    ), {"yes": True})


def _normalise_pseudonyms() -> None:
    conn = op.get_bind()
    clashes = conn.execute(sa.text(
        "SELECT study_id, upper(trim(pseudonym)) AS p, count(*) FROM person "
        "GROUP BY study_id, upper(trim(pseudonym)) HAVING count(*) > 1"
    )).all()
    if clashes:
        names = ", ".join(f"{p} (study {study_id}, {n} people)" for study_id, p, n in clashes)
        raise RuntimeError(
            f"pseudonyms that differ only in case or spaces: {names}; rename or merge them "
            "before upgrading (pseudonyms are case-insensitive from revision 0010)"
        )
    conn.execute(sa.text(
        "UPDATE person SET pseudonym = upper(trim(pseudonym)) WHERE pseudonym <> upper(trim(pseudonym))"
    ))


def downgrade() -> None:
    op.drop_column('study', 'is_demo')  # SQLite ≥ 3.35 drops a column in place
    op.drop_table('login_throttle')
