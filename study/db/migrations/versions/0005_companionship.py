"""companionship: volunteers, profiles, waitlist, matches

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25 16:53:46.652495
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import study.db.types


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('companion_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('buddy_id', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('planned_end_on', sa.Date(), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('confirmed_by', sa.String(length=255), nullable=False),
    sa.Column('extended_until', sa.Date(), nullable=True),
    sa.Column('extended_on', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=64), nullable=True),
    sa.Column('end_note', sa.Text(), nullable=True),
    sa.CheckConstraint('person_id <> buddy_id', name=op.f('ck_companion_match_two_people')),
    sa.ForeignKeyConstraint(['buddy_id'], ['person.id'], name=op.f('fk_companion_match_buddy_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_companion_match_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_companion_match_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companion_match'))
    )
    with op.batch_alter_table('companion_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_companion_match_buddy_id'), ['buddy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_companion_match_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_companion_match_study_id'), ['study_id'], unique=False)

    op.create_table('companion_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=64), nullable=False),
    sa.Column('area', sa.String(length=255), nullable=False),
    sa.Column('wishes', sa.Text(), nullable=False),
    sa.Column('availability', sa.Text(), nullable=False),
    sa.Column('home_visits', sa.String(length=64), nullable=False),
    sa.Column('preferred_genders', sa.Text(), nullable=False),
    sa.Column('preferred_age_min', sa.Integer(), nullable=True),
    sa.Column('preferred_age_max', sa.Integer(), nullable=True),
    sa.Column('same_diagnosis_required', sa.Boolean(), nullable=False),
    sa.Column('diagnosis', sa.String(length=64), nullable=True),
    sa.Column('max_matches', sa.Integer(), nullable=True),
    sa.Column('created_at', study.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("home_visits IN ('wanted', 'ok', 'no')", name=op.f('ck_companion_profile_home_visits_values')),
    sa.CheckConstraint("side IN ('recipient', 'buddy')", name=op.f('ck_companion_profile_side_values')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_companion_profile_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_companion_profile_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companion_profile')),
    sa.UniqueConstraint('person_id', name=op.f('uq_companion_profile_person_id'))
    )
    with op.batch_alter_table('companion_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_companion_profile_study_id'), ['study_id'], unique=False)

    op.create_table('training_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['course_group.id'], name=op.f('fk_training_record_group_id_course_group'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_training_record_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_training_record_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_record')),
    sa.UniqueConstraint('person_id', 'kind', 'completed_on', name=op.f('uq_training_record_person_id_kind_completed_on'))
    )
    with op.batch_alter_table('training_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_record_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_record_study_id'), ['study_id'], unique=False)

    op.create_table('volunteer_commitment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=False),
    sa.Column('available_until', sa.Date(), nullable=True),
    sa.Column('courses', sa.Integer(), nullable=True),
    sa.Column('companionship_months', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_volunteer_commitment_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_volunteer_commitment_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_commitment')),
    sa.UniqueConstraint('person_id', name=op.f('uq_volunteer_commitment_person_id'))
    )
    with op.batch_alter_table('volunteer_commitment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_commitment_study_id'), ['study_id'], unique=False)

    op.create_table('volunteer_interview',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('interviewed_on', sa.Date(), nullable=False),
    sa.Column('interviewer', sa.String(length=255), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_volunteer_interview_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_volunteer_interview_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_interview')),
    sa.UniqueConstraint('person_id', 'number', name=op.f('uq_volunteer_interview_person_id_number'))
    )
    with op.batch_alter_table('volunteer_interview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_interview_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_interview_study_id'), ['study_id'], unique=False)

    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('entered_on', sa.Date(), nullable=False),
    sa.Column('top', sa.Boolean(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('left_reason', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_waitlist_entry_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_waitlist_entry_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry'))
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entry_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entry_study_id'), ['study_id'], unique=False)

    op.create_table('follow_up_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('called_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('called_by', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], name=op.f('fk_follow_up_call_entry_id_waitlist_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_follow_up_call_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_follow_up_call_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_call'))
    )
    with op.batch_alter_table('follow_up_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_call_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_call_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_call_study_id'), ['study_id'], unique=False)

    op.create_table('match_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('contact_on', sa.Date(), nullable=False),
    sa.Column('activity', sa.String(length=64), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('minutes > 0 AND minutes <= 1440', name=op.f('ck_match_contact_minutes_range')),
    sa.ForeignKeyConstraint(['match_id'], ['companion_match.id'], name=op.f('fk_match_contact_match_id_companion_match'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_match_contact_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_match_contact_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_contact'))
    )
    with op.batch_alter_table('match_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_contact_match_id'), ['match_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_contact_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_contact_study_id'), ['study_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('match_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_contact_study_id'))
        batch_op.drop_index(batch_op.f('ix_match_contact_person_id'))
        batch_op.drop_index(batch_op.f('ix_match_contact_match_id'))

    op.drop_table('match_contact')
    with op.batch_alter_table('follow_up_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_call_study_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_call_person_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_call_entry_id'))

    op.drop_table('follow_up_call')
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_study_id'))
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_person_id'))

    op.drop_table('waitlist_entry')
    with op.batch_alter_table('volunteer_interview', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_interview_study_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_interview_person_id'))

    op.drop_table('volunteer_interview')
    with op.batch_alter_table('volunteer_commitment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_commitment_study_id'))

    op.drop_table('volunteer_commitment')
    with op.batch_alter_table('training_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_record_study_id'))
        batch_op.drop_index(batch_op.f('ix_training_record_person_id'))
        batch_op.drop_index(batch_op.f('ix_training_record_group_id'))

    op.drop_table('training_record')
    with op.batch_alter_table('companion_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_companion_profile_study_id'))

    op.drop_table('companion_profile')
    with op.batch_alter_table('companion_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_companion_match_study_id'))
        batch_op.drop_index(batch_op.f('ix_companion_match_person_id'))
        batch_op.drop_index(batch_op.f('ix_companion_match_buddy_id'))

    op.drop_table('companion_match')
