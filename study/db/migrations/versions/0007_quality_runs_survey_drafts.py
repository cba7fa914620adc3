"""quality runs and survey drafts; merges the capability heads

Revision ID: 0007
Revises: 0002, 0003, 0004, 0005, 0006 (a merge: one head from here on)
Create Date: 2026-11-25 19:46:18.464811
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import study.db.types


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = ('0002', '0003', '0004', '0005', '0006')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('quality_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('run_by', sa.String(length=255), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.Integer(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.Column('results', sa.Text(), nullable=False),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_quality_run_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_run'))
    )
    with op.batch_alter_table('quality_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_run_study_id'), ['study_id'], unique=False)

    op.create_table('survey_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('timepoint', sa.String(length=64), nullable=False),
    sa.Column('instrument', sa.String(length=64), nullable=False),
    sa.Column('item_values', sa.Text(), nullable=False),
    sa.Column('updated_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_survey_draft_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_survey_draft_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_draft')),
    sa.UniqueConstraint('person_id', 'timepoint', 'instrument', name=op.f('uq_survey_draft_person_id_timepoint_instrument'))
    )
    with op.batch_alter_table('survey_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_draft_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_draft_study_id'), ['study_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('survey_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_draft_study_id'))
        batch_op.drop_index(batch_op.f('ix_survey_draft_person_id'))

    op.drop_table('survey_draft')
    with op.batch_alter_table('quality_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_run_study_id'))

    op.drop_table('quality_run')
