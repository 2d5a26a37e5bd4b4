"""adaptive votes: a campaign's minimum votes and stop rule; an item's settledness

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:15:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('votes_min', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stop_rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default='top'))
        batch_op.add_column(sa.Column('stop_threshold', sa.Float(), nullable=False, server_default='0.05'))
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('change_p', sa.Float(), nullable=False, server_default='1.0'))
        batch_op.add_column(sa.Column('contested', sa.Boolean(), nullable=False, server_default=sa.false()))
    # the defaults only filled existing rows; the models set every value themselves, as in 0001
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.alter_column('stop_rule', server_default=None)
        batch_op.alter_column('stop_threshold', server_default=None)
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.alter_column('settled', server_default=None)
        batch_op.alter_column('change_p', server_default=None)
        batch_op.alter_column('contested', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_column('contested')
        batch_op.drop_column('change_p')
        batch_op.drop_column('settled')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('stop_threshold')
        batch_op.drop_column('stop_rule')
        batch_op.drop_column('votes_min')
