"""randomisation: secret, counters, allocation tables, disclosures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:54:50.383134
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import study.db.types


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('allocation_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.String(length=255), nullable=False),
    sa.Column('allocated', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_allocation_counter_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_counter')),
    sa.UniqueConstraint('study_id', 'stratum', name=op.f('uq_allocation_counter_study_id_stratum'))
    )
    with op.batch_alter_table('allocation_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_counter_study_id'), ['study_id'], unique=False)

    op.create_table('allocation_disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('disclosed_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_allocation_disclosure_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_disclosure'))
    )
    with op.batch_alter_table('allocation_disclosure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_disclosure_study_id'), ['study_id'], unique=False)

    op.create_table('allocation_table_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_allocation_table_slot_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_table_slot')),
    sa.UniqueConstraint('study_id', 'stratum', 'position', name=op.f('uq_allocation_table_slot_study_id_stratum_position'))
    )
    with op.batch_alter_table('allocation_table_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_table_slot_study_id'), ['study_id'], unique=False)

    op.create_table('randomisation_secret',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=128), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_randomisation_secret_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_randomisation_secret'))
    )
    with op.batch_alter_table('randomisation_secret', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_randomisation_secret_study_id'), ['study_id'], unique=True)

    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_allocation_study_id_sequence_sequence_position'), ['study_id', 'sequence', 'sequence_position'])



def downgrade() -> None:
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_allocation_study_id_sequence_sequence_position'), type_='unique')
        batch_op.drop_column('sequence')

    with op.batch_alter_table('randomisation_secret', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_randomisation_secret_study_id'))

    op.drop_table('randomisation_secret')
    with op.batch_alter_table('allocation_table_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_table_slot_study_id'))

    op.drop_table('allocation_table_slot')
    with op.batch_alter_table('allocation_disclosure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_disclosure_study_id'))

    op.drop_table('allocation_disclosure')
    with op.batch_alter_table('allocation_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_counter_study_id'))

    op.drop_table('allocation_counter')
