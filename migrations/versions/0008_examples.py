"""examples: events.example and deliveries.example mark a "Send example" of the event catalogue

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00

Every event and delivery before this revision is an ordinary one (false). A column with a
constant default rewrites no rows on PostgreSQL and is a plain ALTER TABLE on SQLite.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('events', 'deliveries')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('example', sa.Boolean(),
                                          server_default=sa.text('false'), nullable=False))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('example')
