"""merge the heads of issues 12 (blinding, SAP), 13 (audit integrity) and 15 (input, logins)

Revision ID: 0011
Revises: 0008, 0009, 0010
Create Date: 2026-11-26 08:58:00

No schema change: one head again, so the next revision has a single parent.
"""

from typing import Sequence, Union

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = ('0008', '0009', '0010')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
