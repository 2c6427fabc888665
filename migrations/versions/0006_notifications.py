"""notifications: the notices table, each user's mail preference, a project's operational webhook

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_email', sa.Boolean(),
                                      server_default=sa.text('true'), nullable=False))
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_url', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('notify_secret_encrypted', sa.Text(), nullable=True))
    op.create_table(
        'notices',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('project_id', sa.BigInteger(), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=2048), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('last_delivery_error', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('claim_token', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_notices_project_id_projects'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'],
                                name=op.f('fk_notices_webhook_id_webhooks'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_notices_due', 'notices', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))
    op.create_index('ix_notices_project_id_id', 'notices', ['project_id', 'id'], unique=False)
    op.create_index(op.f('ix_notices_webhook_id'), 'notices', ['webhook_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_notices_webhook_id'), table_name='notices')
    op.drop_index('ix_notices_project_id_id', table_name='notices')
    op.drop_index('ix_notices_due', table_name='notices')
    op.drop_table('notices')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('notify_secret_encrypted')
        batch_op.drop_column('notify_url')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('notify_email')
