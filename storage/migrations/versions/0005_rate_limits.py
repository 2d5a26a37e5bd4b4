"""rate limits: a labeler's burst and sustained clicks per second, per campaign

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_burst', sa.Integer(), server_default='10', nullable=False))
        batch_op.add_column(sa.Column('rate_per_second', sa.Float(), server_default='5', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('rate_per_second')
        batch_op.drop_column('rate_burst')
