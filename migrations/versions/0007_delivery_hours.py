"""delivery_hours, delivery_days: the rollups behind the trend charts, filled from the history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00

The rollups are filled from the deliveries and attempts in the database, as the recorder would
have counted them (webhooks/delivery/rollup.py): per webhook and UTC hour, deliveries that are
final by their completion time (a delivery retried or resent before the upgrade counts once,
as it stands now), and the durations of the attempts made, by when they began; test sends left
out, and attempts never made (webhook off, secret unreadable) without a duration; days are
their hours added up. The histogram's layout is frozen here as it is at this revision
(webhooks/latency.py).
"""
import math

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

EDGES = (*range(16), *(math.ceil(16 * 2 ** (j / 4)) for j in range(48)), 65536)
COLUMNS = [f'ms_{edge}' for edge in EDGES]
NOT_SENT = ('webhook inactive',
            'webhook secret cannot be decrypted: was SECRET_KEY changed? (put the old key in '
            'SECRET_KEY_FALLBACKS)')


def upgrade():
    for table, period in (('delivery_hours', 'hour'), ('delivery_days', 'day')):
        op.create_table(
            table,
            sa.Column('webhook_id', sa.Integer(), nullable=False),
            sa.Column(period, sa.DateTime(), nullable=False),
            *(sa.Column(name, sa.Integer(), server_default=sa.text('0'), nullable=False)
              for name in ['succeeded', 'failed', *COLUMNS]),
            sa.PrimaryKeyConstraint('webhook_id', period, name=op.f(f'pk_{table}')),
        )
    dialect = op.get_bind().dialect.name
    op.execute(sa.text(backfill(dialect)).bindparams(
        sa.bindparam('not_sent', NOT_SENT, expanding=True)))
    figures = ', '.join(['succeeded', 'failed', *COLUMNS])
    op.execute(f"INSERT INTO delivery_days (webhook_id, day, {figures}) "
               f"SELECT webhook_id, {truncate(dialect, 'day', 'hour')}, "
               f"{', '.join(f'SUM({c})' for c in ['succeeded', 'failed', *COLUMNS])} "
               "FROM delivery_hours GROUP BY 1, 2")


def truncate(dialect: str, unit: str, column: str) -> str:
    """The start of the hour or day of a time, as it is stored."""
    if dialect == 'sqlite':  # the text form SQLAlchemy stores DateTime columns in
        keep = '%Y-%m-%d %H' if unit == 'hour' else '%Y-%m-%d 00'
        return f"strftime('{keep}:00:00.000000', {column})"
    return f"date_trunc('{unit}', {column})"


def backfill(dialect: str) -> str:
    """INSERT … SELECT of every (webhook, hour) from the deliveries and attempts."""
    def hour(column):
        return truncate(dialect, 'hour', column)

    bucket = ('CASE ' + ' '.join(f'WHEN a.duration_ms < {EDGES[i + 1]} THEN {i}'
                                 for i in range(len(EDGES) - 1)) + f' ELSE {len(EDGES) - 1} END')
    outcomes = (
        f"SELECT webhook_id, {hour('completed_at')} AS hour, "
        "SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded, "
        "SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed, -1 AS bucket, 0 AS n "
        "FROM deliveries WHERE status IN ('success', 'failed') AND completed_at IS NOT NULL "
        "AND event_type <> 'webhook.test' GROUP BY 1, 2")
    latency = (
        f"SELECT d.webhook_id, {hour('a.attempted_at')}, 0, 0, {bucket}, COUNT(*) "
        "FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
        "WHERE d.event_type <> 'webhook.test' AND COALESCE(a.error, '') NOT IN :not_sent "
        "GROUP BY 1, 2, 5")
    figures = ', '.join(f'SUM(CASE WHEN bucket = {i} THEN n ELSE 0 END)'
                        for i in range(len(EDGES)))
    return (f"INSERT INTO delivery_hours (webhook_id, hour, succeeded, failed, "
            f"{', '.join(COLUMNS)}) SELECT webhook_id, hour, SUM(succeeded), SUM(failed), "
            f"{figures} FROM ({outcomes} UNION ALL {latency}) AS parts GROUP BY webhook_id, hour")


def downgrade():
    op.drop_table('delivery_days')
    op.drop_table('delivery_hours')
