"""the event log's index: a project's events newest first

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_events_project_id_created_at_id', 'events',
                    ['project_id', 'created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_events_project_id_created_at_id', table_name='events')
