"""metric counters (/metrics)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'metric_counters',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_metric_counters')),
    )


def downgrade():
    op.drop_table('metric_counters')
