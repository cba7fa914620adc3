"""dashboard: feedback log on the manual, survey links

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-25 17:20:04.570524
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import study.db.types


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('manual_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('manual_version', sa.String(length=64), nullable=True),
    sa.Column('recorded_by', sa.String(length=255), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('works', 'does_not_work', 'idea')", name=op.f('ck_manual_feedback_kind_values')),
    sa.CheckConstraint("source IN ('leader', 'participant', 'coordinator')", name=op.f('ck_manual_feedback_source_values')),
    sa.CheckConstraint('week >= 1 AND week <= 52', name=op.f('ck_manual_feedback_week_range')),
    sa.ForeignKeyConstraint(['group_id'], ['course_group.id'], name=op.f('fk_manual_feedback_group_id_course_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_manual_feedback_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_feedback'))
    )
    with op.batch_alter_table('manual_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_feedback_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manual_feedback_study_id'), ['study_id'], unique=False)

    op.create_table('survey_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('timepoint', sa.String(length=64), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', study.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', study.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_count', sa.Integer(), nullable=False),
    sa.Column('last_opened_at', study.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_survey_link_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_survey_link_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_survey_link_token_hash'))
    )
    with op.batch_alter_table('survey_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_link_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_link_study_id'), ['study_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('survey_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_link_study_id'))
        batch_op.drop_index(batch_op.f('ix_survey_link_person_id'))

    op.drop_table('survey_link')
    with op.batch_alter_table('manual_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_feedback_study_id'))
        batch_op.drop_index(batch_op.f('ix_manual_feedback_group_id'))

    op.drop_table('manual_feedback')
