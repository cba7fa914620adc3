"""fidelity: manual versions, session observations, component and competence ratings

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25 16:53:33.897552
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import study.db.types


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('manual_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('manual', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('change_note', sa.Text(), nullable=True),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('locked_at', study.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_manual_version_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_version')),
    sa.UniqueConstraint('study_id', 'manual', 'version', name=op.f('uq_manual_version_study_id_manual_version'))
    )
    with op.batch_alter_table('manual_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_version_study_id'), ['study_id'], unique=False)

    op.create_table('fidelity_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Integer(), nullable=False),
    sa.Column('observer', sa.String(length=255), nullable=False),
    sa.Column('observed_on', sa.Date(), nullable=False),
    sa.Column('manual_version', sa.String(length=64), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('participants_present', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('minutes IS NULL OR (minutes >= 0 AND minutes <= 600)', name=op.f('ck_fidelity_observation_minutes_range')),
    sa.CheckConstraint('participants_present IS NULL OR participants_present >= 0', name=op.f('ck_fidelity_observation_present_range')),
    sa.ForeignKeyConstraint(['group_id'], ['course_group.id'], name=op.f('fk_fidelity_observation_group_id_course_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['group_session.id'], name=op.f('fk_fidelity_observation_session_id_group_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_fidelity_observation_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fidelity_observation')),
    sa.UniqueConstraint('session_id', 'observer', name=op.f('uq_fidelity_observation_session_id_observer'))
    )
    with op.batch_alter_table('fidelity_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fidelity_observation_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fidelity_observation_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fidelity_observation_study_id'), ['study_id'], unique=False)

    op.create_table('competence_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.CheckConstraint('score >= 1 AND score <= 10', name=op.f('ck_competence_rating_score_range')),
    sa.ForeignKeyConstraint(['observation_id'], ['fidelity_observation.id'], name=op.f('fk_competence_rating_observation_id_fidelity_observation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_competence_rating_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competence_rating')),
    sa.UniqueConstraint('observation_id', 'item', name=op.f('uq_competence_rating_observation_id_item'))
    )
    with op.batch_alter_table('competence_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competence_rating_observation_id'), ['observation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competence_rating_study_id'), ['study_id'], unique=False)

    op.create_table('component_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.CheckConstraint('score IS NULL OR score IN (0, 1, 2)', name=op.f('ck_component_rating_score_values')),
    sa.ForeignKeyConstraint(['observation_id'], ['fidelity_observation.id'], name=op.f('fk_component_rating_observation_id_fidelity_observation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_component_rating_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_rating')),
    sa.UniqueConstraint('observation_id', 'component', name=op.f('uq_component_rating_observation_id_component'))
    )
    with op.batch_alter_table('component_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_rating_observation_id'), ['observation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_component_rating_study_id'), ['study_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('component_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_rating_study_id'))
        batch_op.drop_index(batch_op.f('ix_component_rating_observation_id'))

    op.drop_table('component_rating')
    with op.batch_alter_table('competence_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competence_rating_study_id'))
        batch_op.drop_index(batch_op.f('ix_competence_rating_observation_id'))

    op.drop_table('competence_rating')
    with op.batch_alter_table('fidelity_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fidelity_observation_study_id'))
        batch_op.drop_index(batch_op.f('ix_fidelity_observation_session_id'))
        batch_op.drop_index(batch_op.f('ix_fidelity_observation_group_id'))

    op.drop_table('fidelity_observation')
    with op.batch_alter_table('manual_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_version_study_id'))

    op.drop_table('manual_version')
