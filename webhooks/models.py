"""Database models. Plain SQLAlchemy, so the delivery core can use them without Flask.

Times are naive UTC datetimes throughout (see `webhooks.clock`).
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .latency import COLUMNS as LATENCY_COLUMNS

# BIGINT everywhere but SQLite, whose rowid alias must be spelled INTEGER.
BigId = BigInteger().with_variant(Integer, "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def fits(value: int, bits: int = 64) -> bool:
    """Whether an integer fits a signed column of `bits` bits."""
    return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DeliveryStatus(enum.StrEnum):
    """A delivery's status (SPEC §5); in this order wherever statuses are listed (SPEC §7)."""

    SUCCESS = "success"
    FAILED = "failed"
    PENDING = "pending"


class WebhookState(enum.StrEnum):
    """On, turned off by hand, or deactivated by consecutive failures (SPEC §4)."""

    ACTIVE = "active"
    OFF = "off"
    DEACTIVATED = "deactivated"


TURNED_OFF_BY_HAND = "turned off by hand"  # the deactivation reason of a manual toggle


def webhook_state(active: bool, deactivation_reason: str | None) -> WebhookState:
    """The state of a webhook with these column values."""
    if active:
        return WebhookState.ACTIVE
    if deactivation_reason is None or deactivation_reason == TURNED_OFF_BY_HAND:
        return WebhookState.OFF
    return WebhookState.DEACTIVATED


memberships = Table(
    "memberships", Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
)

token_projects = Table(
    "api_token_projects", Base.metadata,
    Column("token_id", ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Mail me when a webhook of my projects starts failing or is deactivated (SPEC §9).
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    projects: Mapped[list[Project]] = relationship(
        secondary=memberships, back_populates="members", order_by="Project.id")

    # What a login session needs of a user (Flask-Login's protocol, without importing it).
    is_authenticated = True
    is_active = True
    is_anonymous = False
    # The key of the sign-in session this user object was loaded for (webhooks.login_sessions).
    session_key = None

    def get_id(self) -> str | None:
        """What Flask-Login keeps in the cookie: the session's key, never the user's id, so
        that ending the session on the server ends it everywhere."""
        return self.session_key


class LoginSession(Base):
    """A signed-in browser; the cookie holds the key, this row its hash (SPEC §6)."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Project(Base):
    """A project of the host application; its id is the host's goalId."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    # The operational webhook (SPEC §9): told when a webhook of the project fails or dies.
    notify_url: Mapped[str | None] = mapped_column(String(2048))
    notify_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    members: Mapped[list[User]] = relationship(
        secondary=memberships, back_populates="projects", order_by="User.email")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(200))
    all_projects: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    user: Mapped[User] = relationship()
    projects: Mapped[list[Project]] = relationship(secondary=token_projects, order_by="Project.id")


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[str] = mapped_column(Text)  # comma-separated, in the catalogue's order
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Also sign in the Standard Webhooks format (webhook-id/-timestamp/-signature headers).
    standard_webhooks: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=text("false"))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime)
    deactivation_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]

    @property
    def state(self) -> WebhookState:
        return webhook_state(self.active, self.deactivation_reason)


class Event(Base):
    """One ingested event; `body` is the exact outgoing JSON that gets signed."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("project_id", "idempotency_key"),
                      Index("ix_events_project_id_created_at_id", "project_id", "created_at",
                            "id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    delivery_count: Mapped[int] = mapped_column(Integer, default=0)
    # Stored for a "Send example" of the event catalogue: never replayed (see Delivery.example).
    example: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Delivery(Base):
    """One event sent to one webhook: a cycle of attempts, perhaps restarted by hand.

    While pending, `next_attempt_at` is when it is due. A claim pushes it to the end of the
    lease and stamps `claim_token`; the outcome is written only by the holder of that token.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_deliveries_webhook_id_id", "webhook_id", "id"),
        Index("ix_deliveries_webhook_id_status_id", "webhook_id", "status", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    # A "Send example" of the event catalogue (its event's flag, kept here as event_type is):
    # sent once with X-Webhook-Example: true; like a test send, never retried, resent or counted.
    example: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cycle_attempts: Mapped[int] = mapped_column(Integer, default=0)
    http_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime)
    http_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)


def _rollup(name: str, period: str) -> Table:
    """A rollup of deliveries per webhook and UTC `period` (its first moment)."""
    return Table(
        name, Base.metadata,
        Column("webhook_id", Integer, primary_key=True),
        Column(period, DateTime, primary_key=True),
        Column("succeeded", Integer, nullable=False, server_default=text("0")),
        Column("failed", Integer, nullable=False, server_default=text("0")),
        *(Column(column, Integer, nullable=False, server_default=text("0"))
          for column in LATENCY_COLUMNS),
    )


# A webhook's deliveries by the hour and by the day (UTC), for the trend charts
# (webhooks.trends): the deliveries that became final in that hour or day (test sends
# excepted), and a histogram of the durations of the attempts made in it (webhooks.latency).
# Days are their 24 hours added up, kept apart so that a 30-day chart reads 30 rows. Kept in
# step by the recorder, in the transaction that records the outcomes; pruning deliveries
# leaves them alone. No foreign key: rows are locked after the deliveries' (see
# webhooks.delivery.rollup), and deleting a webhook or project deletes them (webhooks.manage).
delivery_hours = _rollup("delivery_hours", "hour")
delivery_days = _rollup("delivery_days", "day")


class MetricCounter(Base):
    """A counter of /metrics, added to by every process as it records outcomes."""

    __tablename__ = "metric_counters"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[float] = mapped_column(Float, default=0)


class NoticeKind(enum.StrEnum):
    """What a notice tells (SPEC §9); the value is the operational webhook's event name."""

    FAILING = "webhook.failing"
    DEACTIVATED = "webhook.deactivated"


class NoticeChannel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class Notice(Base):
    """One notice to one recipient: an email to a member, or a signed POST to the project's
    operational webhook. Sent and retried like a delivery: pending until it succeeds or its
    attempts run out, claimed with a lease and a token (SPEC §9)."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_notices_project_id_id", "project_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhooks.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(2048))  # an email address or the URL
    body: Mapped[str] = mapped_column(Text)  # the operational webhook's JSON body
    last_delivery_error: Mapped[str | None] = mapped_column(Text)  # the webhook's, for mail
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # why the notice's last attempt failed
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
