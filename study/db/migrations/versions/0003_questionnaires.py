"""questionnaires: instrument versions and responses with their item values

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 17:07:13.019497
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import study.db.types


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('instrument_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('instrument', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_instrument_version_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_version')),
    sa.UniqueConstraint('study_id', 'instrument', 'version', name=op.f('uq_instrument_version_study_id_instrument_version'))
    )
    with op.batch_alter_table('instrument_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_version_study_id'), ['study_id'], unique=False)

    op.create_table('questionnaire_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('timepoint', sa.String(length=64), nullable=False),
    sa.Column('instrument', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('item_values', sa.Text(), nullable=False),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_questionnaire_response_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_questionnaire_response_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_response')),
    sa.UniqueConstraint('person_id', 'timepoint', 'instrument', name=op.f('uq_questionnaire_response_person_id_timepoint_instrument'))
    )
    with op.batch_alter_table('questionnaire_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_response_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaire_response_study_id'), ['study_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('questionnaire_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_response_study_id'))
        batch_op.drop_index(batch_op.f('ix_questionnaire_response_person_id'))

    op.drop_table('questionnaire_response')
    with op.batch_alter_table('instrument_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instrument_version_study_id'))

    op.drop_table('instrument_version')
