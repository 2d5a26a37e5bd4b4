"""jobs: stored schedules, job runs, the runner lease; campaign retrain and reminder settings; labeler time zone
and reminder state

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('next_run_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('jobrun',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('scheduled_for', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('runner', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job', 'scheduled_for')
    )
    with op.batch_alter_table('jobrun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobrun_job'), ['job'], unique=False)

    op.create_table('runnerlease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retrain_every', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('remind_after_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('quiet_hours', sqlmodel.sql.sqltypes.AutoString(), server_default='22-8',
                                      nullable=False))
        batch_op.add_column(sa.Column('quiet_timezone', sqlmodel.sql.sqltypes.AutoString(), server_default='UTC',
                                      nullable=False))
    with op.batch_alter_table('labeler', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tz', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('reminders_off_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('labeler', schema=None) as batch_op:
        batch_op.drop_column('last_reminded_at')
        batch_op.drop_column('reminders_off_at')
        batch_op.drop_column('tz')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('quiet_timezone')
        batch_op.drop_column('quiet_hours')
        batch_op.drop_column('remind_after_hours')
        batch_op.drop_column('retrain_every')
    op.drop_table('runnerlease')
    with op.batch_alter_table('jobrun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobrun_job'))
    op.drop_table('jobrun')
    op.drop_table('job')
