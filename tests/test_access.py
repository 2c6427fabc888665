"""The access sweep (issue "Access"): every route of `app.url_map`, tried by every kind of caller.

Routes are enumerated, never listed by hand, so a new route is swept as soon as it exists; one
the sweep cannot place (an unknown URL argument, an API endpoint without its SPEC §5 scope, a
UI route without an id that is neither admin-only nor in OPEN_UI) fails
`test_every_route_is_placed_by_the_sweep` and, through a KeyError, the sweeps themselves.

The world: project 774 (the member's) and project 775 (someone else's) with a webhook, a failed
delivery with one attempt, and tokens. 775's data carries canaries, some of them HTML that would
run if a page forgot to escape it. No response to a caller who may not see 775 may contain a
canary, and no denied request may change a row. Each denial sweep has a control: the same
requests by someone who may see 775 succeed (and show the canaries), so a 404 proves an access
check, not a wrong URL, and the leak check is shown to bite.

Every response of every sweep also passes `check_response`: the security headers, and for HTML
no inline script, `style=`, `on*=` handler, `hx-on` or `javascript:` URL.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import make_url
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash

from webhooks import auth, manage
from webhooks.delivery.hosts import HostPolicy
from webhooks.delivery.signing import sign
from webhooks.events import validate
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.models import ApiToken, Base, Delivery, Project, User, Webhook, memberships

from .conftest import CSRF_RE
from .helpers import assert_error

API = "/api/v1"
OPENAPI = "api.openapi.openapi_json"
PASSWORD = "sweep password"
CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")  # fast sign-ins
MEMBER_SCOPES = "events:write,webhooks:read,webhooks:write"  # every scope a member may hold
ALL_SCOPES = ",".join(auth.SCOPES)
HTMX = {"HX-Request": "true"}
GETS = ("GET", "HEAD")

# Project 775's canaries: none may reach a caller who may not see 775.
PROJECT_CANARY = "Cnry775Project"
PROJECT_NAME = f'{PROJECT_CANARY} <img src=x onerror="alert(775)">'
HOOK_PATH = "/cnry775hook"
PAYLOAD_CANARY = "Cnry775Payload"
PAYLOAD_TEXT = f"{PAYLOAD_CANARY} </pre><script>alert(775)</script>"
RESPONSE_CANARY = "Cnry775Response"
RESPONSE_TEXT = f"{RESPONSE_CANARY} <script>alert(775)</script><p style=x onclick=y>"
OWNER_EMAIL = "cnry775owner@example.com"
OWNER_TOKEN_NAME = "Cnry775Token"

# URL arguments the sweep knows how to fill.
ID_ARGS = {"project_id", "webhook_id", "delivery_id", "token_id", "user_id", "event_id"}
GHOST = 999775  # an id of nothing: a refusal must read the same for 775 and for it
GHOST_IDS = {**dict.fromkeys(ID_ARGS, GHOST), "event_id": "evt_nothing"}
PUBLIC = {"static", "health.healthz", OPENAPI}  # no session, no token, no data
# off unless its own token is set, then only for that token: see tests/test_metrics.py
OWN_TOKEN = {"metrics.metrics"}

# --- the API table (SPEC §5) ---------------------------------------------------------------------

API_SCOPES = {
    "api.events.ingest_event": "events:write",
    "api.events.ingest_batch": "events:write",
    "api.projects.list_projects": "webhooks:read",
    "api.projects.create_project": "projects:write",
    "api.projects.get_project": "webhooks:read",
    "api.projects.update_project": "projects:write",
    "api.projects.delete_project": "projects:write",
    "api.webhooks.list_webhooks": "webhooks:read",
    "api.webhooks.create_webhook": "webhooks:write",
    "api.webhooks.get_webhook": "webhooks:read",
    "api.webhooks.update_webhook": "webhooks:write",
    "api.webhooks.delete_webhook": "webhooks:write",
    "api.webhooks.rotate_secret": "webhooks:write",
    "api.webhooks.test_webhook": "webhooks:write",
    "api.webhooks.send_example": "webhooks:write",
    "api.deliveries.list_deliveries": "webhooks:read",
    "api.deliveries.get_delivery": "webhooks:read",
    "api.deliveries.retry_delivery": "webhooks:write",
    "api.deliveries.resend_delivery": "webhooks:write",
    "api.event_log.list_events": "webhooks:read",
    "api.event_log.get_event": "webhooks:read",
    "api.event_log.replay_event": "webhooks:write",
}

# API routes without an id in the path: what a token that holds the scope but not project 775
# gets. None: not judged here.
API_COLLECTIONS = {
    "api.events.ingest_event": 403,     # goalId 775 is not among the token's projects (§3)
    "api.events.ingest_batch": 403,     # the same, for its one item
    "api.projects.list_projects": 200,  # a list without 775
    "api.projects.create_project": None,  # touches no existing project (admins' tokens only)
}

DEAD_ROLES = ("no token (signed in to the UI as admin)", "unknown token", "expired token",
              "revoked token")
MEMBER_ROLES = ("member of 774", "former member of 775, token listing 775",
                "member of 774, once an admin, token with projects:write")
API_ROLES = (*DEAD_ROLES, *MEMBER_ROLES, "admin token limited to 774",
             "admin token lacking the route's scope")

# What the control (someone who may see 775) must find in these answers.
SHOWS = {
    "api.projects.list_projects": [PROJECT_CANARY],
    "api.projects.get_project": [PROJECT_CANARY],
    "api.webhooks.list_webhooks": [HOOK_PATH],
    "api.webhooks.get_webhook": [HOOK_PATH],
    "api.deliveries.get_delivery": [PAYLOAD_CANARY, RESPONSE_CANARY],
    "api.event_log.get_event": [PAYLOAD_CANARY],
    "ui.events.list_events": [PROJECT_CANARY, HOOK_PATH],
    "ui.events.show_event": [PAYLOAD_CANARY, HOOK_PATH],
    "ui.webhooks.list_webhooks": [PROJECT_CANARY, HOOK_PATH],
    "ui.deliveries.show_delivery": [PAYLOAD_CANARY, RESPONSE_CANARY],
    "ui.admin.list_users": [OWNER_EMAIL],
    "ui.notifications.show_notifications": [PROJECT_CANARY],
    "ui.catalogue.show_catalogue": [PROJECT_CANARY, HOOK_PATH],
}

# --- the UI table ---------------------------------------------------------------------------------

# UI routes with no id in the path that members may use: the status a signed-in member of 774
# gets (HEAD as GET). None: not swept here (signing in and out: test_ui_auth and the lead's
# rate limiting).
OPEN_UI = {
    "ui.projects.index": {"GET": 302},         # to the member's own first project
    "ui.tokens.list_tokens": {"GET": 200},     # the member's own tokens
    "ui.tokens.create_token": {"POST": 422},   # a token for project 775: refused
    "ui.auth.login": {"GET": 200, "POST": None},
    "ui.auth.setup": {"GET": 302, "POST": 302},  # closed once a user exists
    "ui.auth.logout": {"POST": None},
    "ui.auth.account": {"GET": 200},             # the member's own account page
    "ui.auth.change_password": {"POST": 422},    # the current password is missing
    "ui.auth.sign_out_everywhere": {"POST": None},
    # The member's own mail preference, which the member may change: tests/test_notify.py
    "ui.auth.set_notifications": {"POST": None},
}
ADMIN_ONLY_OUTSIDE_ADMIN = {"ui.projects.create_project"}
SESSION_ROUTES = {("ui.auth.login", "POST"), ("ui.auth.logout", "POST"),
                  ("ui.auth.sign_out_everywhere", "POST"), ("ui.auth.change_password", "POST")}
METHOD_RANK = {"GET": 0, "HEAD": 0, "POST": 1, "PUT": 1, "PATCH": 2, "DELETE": 3}
# The control runs every route once on one world; these go last among their method, in order.
CONTROL_LAST = ("ui.webhooks.toggle_webhook", "ui.admin.remove_member", "ui.admin.delete_user",
                "api.projects.delete_project")


def is_admin_only(rule: Rule) -> bool:
    return rule.rule.startswith("/admin/") or rule.endpoint in ADMIN_ONLY_OUTSIDE_ADMIN


def api_routes(app: Flask) -> list[tuple[Rule, str]]:
    return [(rule, method) for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("api.") and rule.endpoint != OPENAPI
            for method in sorted(rule.methods - {"OPTIONS"})]


def ui_routes(app: Flask) -> list[tuple[Rule, str]]:
    return [(rule, method) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("ui.")
            for method in sorted(rule.methods - {"OPTIONS"})]


def control_order(route: tuple[Rule, str]):
    rule, method = route
    last = CONTROL_LAST.index(rule.endpoint) + 1 if rule.endpoint in CONTROL_LAST else 0
    return METHOD_RANK[method], last


_ARG_RE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def concrete(rule: Rule, ids: dict) -> str:
    """The rule's path with its arguments filled from `ids` (KeyError: an unknown argument)."""
    return _ARG_RE.sub(lambda m: str(ids[m.group(1)]), rule.rule)


# --- what every response must satisfy -------------------------------------------------------------

def csp_directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        directives[name.lower()] = sources
    return directives


def header_problems(response) -> list[str]:
    problems = []
    raw = response.headers.get("Content-Security-Policy", "")
    csp = csp_directives(raw) if raw.strip() else {}
    if csp.get("script-src", csp.get("default-src")) != ["'self'"]:
        problems.append(f"script-src is not exactly 'self': {raw!r}")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is not 'none': {raw!r}")
    if csp.get("object-src") != ["'none'"]:
        problems.append(f"object-src is not 'none': {raw!r}")
    sources = {s for values in csp.values() for s in values}
    if extra := sources - {"'self'", "'none'", "data:"}:  # no unsafe-*, no other host (§7)
        problems.append(f"the CSP allows {sorted(extra)}")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options is not DENY")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    return problems


class _HtmlCheck(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style= on <{tag}>")
            elif re.fullmatch(r"on[a-z]+", name):
                self.problems.append(f"{name}= handler on <{tag}>")
            elif name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"{name} on <{tag}>")
            elif (name in ("href", "src", "action", "formaction", "hx-get", "hx-post")
                  and (value or "").strip().lower().startswith("javascript:")):
                self.problems.append(f"javascript: URL in {name} on <{tag}>")


def html_problems(html: str) -> list[str]:
    check = _HtmlCheck()
    check.feed(html)
    check.close()
    return check.problems


def check_response(response, where: str) -> None:
    """Security headers on every response; a clean HTML body where there is one."""
    problems = header_problems(response)
    if response.mimetype == "text/html":
        problems += html_problems(response.get_data(as_text=True))
    assert not problems, f"{where}: {problems}"


def response_text(response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return f"{headers}\n\n{response.get_data(as_text=True)}"


class Browser:
    """A test client whose every request runs in an app context of its own.

    A test's requests otherwise share the test's app context, and with it `g` (Flask-Login's
    user, Flask-WTF's token) and the database session: with several clients in one test a
    request could be answered as the previous client's user.
    """

    def __init__(self, app: Flask, client: FlaskClient | None = None):
        self.app, self.client = app, client or app.test_client()

    def __call__(self, method: str, url: str, **kwargs):
        with self.app.app_context():
            response = self.client.open(url, method=method, buffered=True, **kwargs)
        check_response(response, f"{method} {url}")
        return response

    def csrf(self, path: str = "/login") -> str:
        return CSRF_RE.search(self("GET", path).get_data(as_text=True)).group(1)

    def sign_in(self, email: str, password: str = PASSWORD) -> str:
        """Sign in through the form; returns the new session's CSRF token."""
        response = self("POST", "/login", data={"email": email, "password": password,
                                                "csrf_token": self.csrf()})
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.csrf("/tokens")


_SIGNED_RE = re.compile(r"[\w-]{8,}\.[\w-]{4,}\.[\w-]{8,}")  # a CSRF token: signed, timed


def same_refusal(response, twin) -> bool:
    """Whether two refusals read the same but for ids (and the page's CSRF token, whose
    signature carries the time): then they reveal nothing."""
    def norm(r):
        body = _SIGNED_RE.sub("TOKEN", r.get_data(as_text=True))
        return r.status_code, re.sub(r"\d+", "N", body)
    return norm(response) == norm(twin)


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


VOLATILE = {("api_tokens", "last_used_at")}  # a refused request may still note a token's use


def snapshot() -> dict:
    """Every row of every table, read on a connection of its own."""
    db.session.rollback()
    rows = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
            rows[table.name] = sorted(tuple(map(repr, row))
                                      for row in conn.execute(select(*columns)))
    return rows


# --- the world ------------------------------------------------------------------------------------

@pytest.fixture
def config_overrides():
    return {"WEBHOOKS_RETRY_DELAYS": ()}  # one attempt per cycle: a failed delivery at once


@dataclass
class World:
    ids: dict           # project 775's resources (and its owner and their token)
    own_ids: dict       # what the member of 774 may see: for the admin-only routes
    control_ids: dict   # for the control: the admin's own token instead of the owner's
    tokens: dict        # role -> plaintext
    canaries: list
    receiver: object

    def leaks(self, response) -> list[str]:
        body = response_text(response)
        return [canary for canary in self.canaries if canary in body]


@pytest.fixture
def world(app, clock, receiver, dispatch) -> World:
    now = clock()
    ours = Project(id=774, name="Ours774", created_at=now, updated_at=now)
    theirs = Project(id=775, name=PROJECT_NAME, created_at=now, updated_at=now)
    db.session.add_all([ours, theirs])
    db.session.flush()

    def user(email, is_admin=False, projects=()):
        row = User(email=email, password_hash=CHEAP_HASH, is_admin=is_admin, created_at=now)
        db.session.add(row)
        db.session.flush()
        for project_id in projects:
            db.session.execute(insert(memberships).values(user_id=row.id, project_id=project_id))
        return row

    admin = user("admin@example.com", is_admin=True)
    member = user("member@example.com", projects=[774])
    owner = user(OWNER_EMAIL, projects=[775])
    former = user("former@example.com", projects=[774, 775])
    demoted = user("demoted@example.com", is_admin=True, projects=[774])

    def token(owner_, scopes, projects=None, name="sweep"):
        return auth.create_token(db.session, owner_, name, scopes, projects, None, now)

    owner_token, owner_plaintext = token(owner, MEMBER_SCOPES, [775], OWNER_TOKEN_NAME)
    admin_token, admin_plaintext = token(admin, ALL_SCOPES)
    expired, expired_plaintext = token(admin, ALL_SCOPES)
    revoked, revoked_plaintext = token(admin, ALL_SCOPES)
    tokens = {
        "no token (signed in to the UI as admin)": None,  # the API ignores the session cookie
        "unknown token": "whk_" + "x" * 43,
        "expired token": expired_plaintext,
        "revoked token": revoked_plaintext,
        "member of 774": token(member, MEMBER_SCOPES)[1],
        "former member of 775, token listing 775": token(former, MEMBER_SCOPES, [775])[1],
        "member of 774, once an admin, token with projects:write": token(demoted, ALL_SCOPES)[1],
        "admin token limited to 774": token(admin, ALL_SCOPES, [774])[1],
        "admin": admin_plaintext,
        **{f"admin lacking {scope}": token(admin, [s for s in auth.SCOPES if s != scope])[1]
           for scope in auth.SCOPES},
    }
    db.session.execute(delete(memberships).where(memberships.c.user_id == former.id,
                                                 memberships.c.project_id == 775))
    demoted.is_admin = False
    db.session.execute(update(ApiToken).where(ApiToken.id == expired.id)
                       .values(expires_at=now - timedelta(seconds=1)))
    db.session.execute(update(ApiToken).where(ApiToken.id == revoked.id).values(revoked_at=now))

    policy, box = HostPolicy.parse("loopback"), app.extensions["secret_box"]
    manage.create_webhook(db.session, box, policy, ours, receiver.url("/ours774"),
                          ["task.created"], now)
    hook, secret = manage.create_webhook(db.session, box, policy, theirs,
                                         receiver.url(HOOK_PATH), ["task.created"], now)
    db.session.commit()
    _, body = validate({"event": "task.created",
                        "task": {"id": 1, "goalId": 775, "description": PAYLOAD_TEXT}}, now)
    store_event(db.session, 775, body, now)
    receiver.script.append(("status", 500, RESPONSE_TEXT.encode()))
    dispatch()
    delivery = db.session.scalar(select(Delivery).where(Delivery.webhook_id == hook.id))
    assert (delivery.status, delivery.attempts) == ("failed", 1)

    ids = {"project_id": 775, "webhook_id": hook.id, "delivery_id": delivery.id,
           "token_id": owner_token.id, "user_id": owner.id, "event_id": delivery.event_id}
    return World(
        ids=ids, own_ids={**ids, "project_id": 774, "user_id": member.id},
        control_ids={**ids, "token_id": admin_token.id}, tokens=tokens,
        canaries=[PROJECT_CANARY, HOOK_PATH, PAYLOAD_CANARY, RESPONSE_CANARY, OWNER_EMAIL,
                  OWNER_TOKEN_NAME, secret, owner_plaintext],
        receiver=receiver)


def api_body(endpoint: str, world: World, project_id: int = 775):
    return {
        "api.events.ingest_event": {"event": "task.created",
                                    "task": {"id": 2, "goalId": project_id}},
        "api.events.ingest_batch": {"events": [{"event": "task.created",
                                                "task": {"id": 2, "goalId": project_id}}]},
        "api.projects.create_project": {"id": 776, "name": "New776"},
        "api.projects.update_project": {"name": "Renamed775"},
        "api.webhooks.create_webhook": {"url": world.receiver.url("/new"),
                                        "events": ["task.created"]},
        "api.webhooks.update_webhook": {"active": False},
        "api.webhooks.send_example": {"event": "task.created"},
    }.get(endpoint)


def ui_form(endpoint: str, world: World) -> dict:
    """A form that would succeed for someone allowed to send it."""
    return {
        "ui.admin.create_user": {"email": "new@example.com", "password": "long enough"},
        "ui.admin.set_admin": {"admin": "1"},
        "ui.admin.set_password": {"password": "a new long password"},
        "ui.admin.add_member": {"member_email": "member@example.com"},
        "ui.auth.setup": {"email": "new@example.com", "password": "long enough",
                          "confirm": "long enough"},
        "ui.projects.create_project": {"id": "776", "name": "New776"},
        "ui.tokens.create_token": {"name": "t", "scopes": ["webhooks:read"], "access": "some",
                                   "projects": ["775"], "expires_in": ""},
        "ui.webhooks.create_webhook": {"url": world.receiver.url("/new"),
                                       "events": ["task.created"]},
        "ui.webhooks.update_webhook": {"url": world.receiver.url("/changed"),
                                       "events": ["task.created"]},
        "ui.webhooks.toggle_webhook": {"active": "off"},
        "ui.auth.set_notifications": {"notify_email": ["0", "1"]},
        "ui.notifications.set_notify_url": {"notify_url": world.receiver.url("/ops")},
        "ui.notifications.mail_test": {"project_id": "775"},
        "ui.catalogue.send_example": {"event": "task.created",
                                      "webhook_id": str(world.ids["webhook_id"])},
    }.get(endpoint, {})


# --- the tables are complete, and the checks can fail ------------------------------------------

def test_every_route_is_placed_by_the_sweep(app, client):
    problems = []
    for rule in app.url_map.iter_rules():
        where, endpoint = f"{sorted(rule.methods)} {rule.rule} ({rule.endpoint})", rule.endpoint
        if set(rule.arguments) - ID_ARGS - ({"filename"} if endpoint == "static" else set()):
            problems.append(f"{where}: an argument the sweep cannot fill")
        if endpoint in PUBLIC or endpoint in OWN_TOKEN:
            continue
        if endpoint.startswith("api."):
            if endpoint not in API_SCOPES:
                problems.append(f"{where}: no scope in API_SCOPES")
            if not rule.arguments and endpoint not in API_COLLECTIONS:
                problems.append(f"{where}: no id in the path and not in API_COLLECTIONS")
        elif endpoint.startswith("ui."):
            if not (is_admin_only(rule) or rule.arguments):
                missing = rule.methods - {"HEAD", "OPTIONS"} - set(OPEN_UI.get(endpoint, {}))
                if missing:
                    problems.append(f"{where}: {sorted(missing)} not in OPEN_UI")
        else:
            problems.append(f"{where}: neither API, UI nor PUBLIC")
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    problems += [f"{e}: in a table but no longer a route"
                 for e in {*API_SCOPES, *API_COLLECTIONS, *OPEN_UI} - endpoints]
    assert not problems, "\n".join(problems)
    # SPEC §5's scopes are the ones the OpenAPI document declares.
    documented = {(method.upper(), path): op["security"][0]["bearerAuth"]
                  for path, item in client.get(f"{API}/openapi.json").json["paths"].items()
                  for method, op in item.items() if op["security"]}
    for rule, method in api_routes(app):
        if method != "HEAD":
            path = _ARG_RE.sub(r"{\1}", rule.rule)
            assert documented[(method, path)] == [API_SCOPES[rule.endpoint]], (method, path)


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>", '<script type="module">x()</script>', '<p style="color:red">',
    "<style>p{}</style>", '<a onclick="x()">', "<img src=x onerror=alert(1)>",
    '<div hx-on:click="x()">', '<div data-hx-on-click="x()">', '<a href=" javascript:x()">',
])
def test_the_html_check_finds_what_the_csp_would_block(html):
    assert html_problems(f"<!doctype html><p>ok</p>{html}<p>ok</p>")


def test_the_html_check_passes_scripts_by_url_and_escaped_text():
    assert html_problems('<script src="/static/app.js" defer></script>'
                         '<p title="a onclick=b style=c">&lt;script&gt;alert(1)&lt;/script&gt;'
                         ' once=1 style=2</p>') == []


# --- 1. the JSON API ------------------------------------------------------------------------------

def expected_api_status(role: str, rule: Rule) -> int | None:
    if role in DEAD_ROLES:
        return 401
    if role == "admin token lacking the route's scope":
        return 403
    if role in MEMBER_ROLES and API_SCOPES[rule.endpoint] == "projects:write":
        return 403  # projects:write works only with an admin's token (SPEC §5)
    if rule.arguments:
        return 404  # an id of project 775's: "a resource the caller may not see is a 404"
    return API_COLLECTIONS[rule.endpoint]


def api_token(world: World, role: str, scope: str) -> str | None:
    if role == "admin token lacking the route's scope":
        return world.tokens[f"admin lacking {scope}"]
    return world.tokens[role]


@pytest.mark.parametrize("role", API_ROLES)
def test_api_answers_callers_who_may_not_see_project_775_without_its_data(app, world, role):
    """Each route and method as `role`, with ids of project 775's: the status SPEC §3/§5 give,
    no data of 775's, nothing changed, and the same answer as for ids of nothing at all."""
    browser = Browser(app)
    if role.startswith("no token"):
        browser.sign_in("admin@example.com")
    before = snapshot()
    sent, failures = len(world.receiver.requests), []
    for rule, method in api_routes(app):
        expected = expected_api_status(role, rule)
        if expected is None:
            continue
        url, ghost_url = concrete(rule, world.ids), concrete(rule, GHOST_IDS)
        headers = bearer(api_token(world, role, API_SCOPES[rule.endpoint]))
        is_get = method in GETS
        response = browser(method, url, headers=headers,
                           json=None if is_get else api_body(rule.endpoint, world))
        where = f"{role}: {method} {url}"
        if response.status_code != expected:
            failures.append(f"{where} -> {response.status_code}, expected {expected}: "
                            f"{response.get_data(as_text=True)[:300]}")
        if leaked := world.leaks(response):
            failures.append(f"{where} shows project 775's {leaked}")
        if expected >= 400 and method != "HEAD" and response.status_code == expected:
            assert_error(response, expected)
        challenge = response.headers.get("WWW-Authenticate", "")
        if expected == 401 and not challenge.startswith("Bearer"):
            failures.append(f"{where}: a 401 without WWW-Authenticate: Bearer")
        if expected in (403, 404):
            twin = browser(method, ghost_url, headers=headers,
                           json=None if is_get else api_body(rule.endpoint, world, GHOST))
            if not same_refusal(response, twin):
                failures.append(f"{where} -> {response.status_code} "
                                f"{response.get_data(as_text=True)[:200]}, but for ids of nothing "
                                f"{twin.status_code} {twin.get_data(as_text=True)[:200]}")
        if (after := snapshot()) != before:
            failures.append(f"{where} changed the database")
            before = after
    if len(world.receiver.requests) != sent:
        failures.append(f"{role}: {len(world.receiver.requests) - sent} request(s) were sent")
    assert not failures, "\n".join(failures)


def test_api_control_the_admin_token_reaches_every_route_the_sweep_refuses(app, world):
    """The same URLs and bodies with the admin's full token succeed and show 775's data."""
    browser, failures = Browser(app), []
    for rule, method in sorted(api_routes(app), key=control_order):
        url = concrete(rule, world.ids)
        response = browser(method, url, headers=bearer(world.tokens["admin"]),
                           json=None if method in GETS else api_body(rule.endpoint, world))
        if not 200 <= response.status_code < 300:
            failures.append(f"{method} {url} -> {response.status_code}: "
                            f"{response.get_data(as_text=True)[:300]}")
        elif method == "GET":
            missing = set(SHOWS.get(rule.endpoint, [])) - set(world.leaks(response))
            if missing:
                failures.append(f"{method} {url} does not show {sorted(missing)}")
        if rule.endpoint in SENDS_AGAIN:  # retry and resend each need a final delivery
            make_final_again(app, world)
    assert not failures, "\n".join(failures)


SENDS_AGAIN = {"api.deliveries.retry_delivery", "api.deliveries.resend_delivery",
               "ui.deliveries.retry_delivery", "ui.deliveries.resend_delivery"}


def make_final_again(app, world: World) -> None:
    """Project 775's delivery failed again, for the next route that sends it again."""
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.id == world.ids["delivery_id"])
                           .values(status="failed", next_attempt_at=None))
        db.session.commit()


# --- 2. the UI ------------------------------------------------------------------------------------

def test_ui_sends_anonymous_callers_to_sign_in_from_every_route(app, world):
    browser = Browser(app)
    csrf, before, failures = browser.csrf(), snapshot(), []
    for rule, method in ui_routes(app):
        if (rule.endpoint, method) == ("ui.auth.login", "POST"):
            continue  # signing in itself: test_ui_auth
        url = concrete(rule, world.ids)
        response = browser(method, url, data=ui_form(rule.endpoint, world),
                           headers={"X-CSRFToken": csrf})
        where = f"anonymous: {method} {url}"
        if rule.endpoint == "ui.auth.login":
            ok = response.status_code == 200
        else:
            ok = (response.status_code == 302
                  and urlsplit(response.headers["Location"]).path == "/login")
        if not ok:
            failures.append(f"{where} -> {response.status_code} {response.headers.get('Location')}")
        if leaked := world.leaks(response):
            failures.append(f"{where} shows project 775's {leaked}")
        if (after := snapshot()) != before:
            failures.append(f"{where} changed the database")
            before = after
    assert not failures, "\n".join(failures)


def test_ui_member_of_774_gets_404_for_project_775_and_for_admin_pages(app, world):
    browser = Browser(app)
    csrf = browser.sign_in("member@example.com")
    before, sent, failures = snapshot(), len(world.receiver.requests), []
    for rule, method in ui_routes(app):
        if is_admin_only(rule):
            expected, ids = 404, world.own_ids  # the member's own project: only the role is missing
        elif rule.arguments:
            expected, ids = 404, world.ids
        else:
            expected, ids = OPEN_UI[rule.endpoint]["GET" if method in GETS else method], world.ids
        if expected is None:
            continue
        url = concrete(rule, ids)
        form = ui_form(rule.endpoint, world)
        for kind in (["htmx", "page"] if method in GETS else ["htmx"]):
            headers = {**(HTMX if kind == "htmx" else {}), "X-CSRFToken": csrf}
            response = browser(method, url, data=form, headers=headers)
            where = f"member of 774: {method} {url} ({kind})"
            if response.status_code != expected:
                failures.append(f"{where} -> {response.status_code}, expected {expected}")
            if expected == 404:
                twin = browser(method, concrete(rule, GHOST_IDS), data=form, headers=headers)
                if not same_refusal(response, twin):
                    failures.append(f"{where}: not the answer for ids of nothing "
                                    f"({twin.status_code})")
            if leaked := world.leaks(response):
                failures.append(f"{where} shows project 775's {leaked}")
            if (after := snapshot()) != before:
                failures.append(f"{where} changed the database")
                before = after
    if len(world.receiver.requests) != sent:
        failures.append(f"{len(world.receiver.requests) - sent} request(s) were sent")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("csrf", ["missing", "forged", "another session's"])
def test_ui_state_changes_without_a_valid_csrf_token_are_refused_and_change_nothing(
        app, world, csrf):
    browser = Browser(app)
    browser.sign_in("admin@example.com")
    header = {"missing": {}, "forged": {"X-CSRFToken": "forged"},
              "another session's": {"X-CSRFToken": Browser(app).csrf()}}[csrf]
    before, sent, failures = snapshot(), len(world.receiver.requests), []
    changing = [(rule, method) for rule, method in ui_routes(app) if method not in GETS]
    assert len(changing) >= 15
    for rule, method in changing:
        url = concrete(rule, world.control_ids)
        response = browser(method, url, data=ui_form(rule.endpoint, world),
                           headers={**HTMX, **header})
        where = f"{csrf} CSRF token: {method} {url}"
        if response.status_code != 400:
            failures.append(f"{where} -> {response.status_code}, expected 400")
        if (after := snapshot()) != before:
            failures.append(f"{where} changed the database")
            before = after
    if len(world.receiver.requests) != sent:
        failures.append(f"{len(world.receiver.requests) - sent} request(s) were sent")
    assert browser("GET", "/tokens").status_code == 200  # the refused sign-out did nothing
    assert not failures, "\n".join(failures)


def test_ui_control_the_admin_reaches_every_route_the_sweeps_refuse(app, world):
    """The same URLs and forms, signed in as the administrator with the CSRF token, succeed and
    show 775's data, escaped (check_response sees the canaries' HTML rendered as text)."""
    browser = Browser(app)
    csrf, failures = browser.sign_in("admin@example.com"), []
    for rule, method in sorted(ui_routes(app), key=control_order):
        if (rule.endpoint, method) in SESSION_ROUTES:
            continue
        url = concrete(rule, world.control_ids)
        for headers in ([{}, HTMX] if method in GETS else [HTMX]):
            response = browser(method, url, data=ui_form(rule.endpoint, world),
                               headers={**headers, "X-CSRFToken": csrf})
            where = f"admin: {method} {url} {'(htmx)' if headers else ''}"
            if not 200 <= response.status_code < 400:
                failures.append(f"{where} -> {response.status_code}")
            elif method == "GET" and not headers:
                missing = set(SHOWS.get(rule.endpoint, [])) - set(world.leaks(response))
                if missing:
                    failures.append(f"{where} does not show {sorted(missing)}")
            if rule.endpoint in SENDS_AGAIN:
                make_final_again(app, world)
    assert not failures, "\n".join(failures)


def test_public_routes_show_no_data(app, world):
    browser = Browser(app)
    for url in ("/healthz", f"{API}/openapi.json", "/static/app.js"):
        response = browser("GET", url)
        assert response.status_code == 200, url
        assert world.leaks(response) == [], url


# --- 3. security headers on every kind of response ----------------------------------------------

HEADER_SAMPLES = {  # kind: (who, method, path, headers, status)
    "page": ("admin", "GET", "/tokens", {}, 200),
    "htmx fragment": ("admin", "GET", "/webhooks/{webhook}", HTMX, 200),
    "redirect to sign-in": (None, "GET", "/tokens", {}, 302),
    "sign-in page": (None, "GET", "/login", {}, 200),
    "UI 404": ("admin", "GET", "/webhooks/999999", {}, 404),
    "UI 405": ("admin", "PATCH", "/tokens", {}, 405),
    "UI CSRF 400": ("admin", "POST", "/projects", {}, 400),
    "unknown path": (None, "GET", "/no/such/page", {}, 404),
    "API JSON": ("token", "GET", f"{API}/projects", {}, 200),
    "API 401": (None, "GET", f"{API}/projects", {}, 401),
    "API 404": ("token", "GET", f"{API}/webhooks/999999", {}, 404),
    "API 405": ("token", "PUT", f"{API}/projects", {}, 405),
    "OpenAPI document": (None, "GET", f"{API}/openapi.json", {}, 200),
    "health check": (None, "GET", "/healthz", {}, 200),
    "static script": (None, "GET", "/static/app.js", {}, 200),
    "static stylesheet": (None, "GET", "/static/app.css", {}, 200),
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # headers: not the database's
@pytest.mark.parametrize("kind", HEADER_SAMPLES)
def test_security_headers_are_set_on_every_kind_of_response(app, clock, kind):
    who, method, path, headers, status = HEADER_SAMPLES[kind]
    now = clock()
    project = Project(id=774, name="Ours774", created_at=now, updated_at=now)
    admin = User(email="admin@example.com", password_hash=CHEAP_HASH, is_admin=True,
                 created_at=now)
    db.session.add_all([project, admin])
    db.session.flush()
    hook, _ = manage.create_webhook(db.session, app.extensions["secret_box"],
                                    HostPolicy.parse("loopback"), project,
                                    "http://127.0.0.1:9/x", ["task.created"], now)
    _, token = auth.create_token(db.session, admin, "t", ALL_SCOPES, None, None, now)
    db.session.commit()
    browser = Browser(app)
    if who == "admin":
        headers = {**headers, "X-CSRFToken": browser.sign_in("admin@example.com")}
        if method == "POST":
            headers.pop("X-CSRFToken")  # the sample is the CSRF refusal
    elif who == "token":
        headers = {**headers, **bearer(token)}
    with app.app_context():
        response = browser.client.open(path.format(webhook=hook.id), method=method,
                                       headers=headers, buffered=True)
    assert response.status_code == status
    assert header_problems(response) == []
    if response.mimetype == "text/html":
        assert html_problems(response.get_data(as_text=True)) == []


# --- 4. secrets are shown once and stored nowhere ------------------------------------------------

NEW_SECRET_RE = re.compile(r'<code id="(?:new-secret|secret-\d+)">(whsec_[^<]+)</code>')
NEW_TOKEN_RE = re.compile(r'<code id="new-token">(whk_[^<]+)</code>')


def stored_text(database_url: str) -> str:
    """Everything the database holds: the SQLite file's bytes (and its WAL and journal), or
    every row of every table of the PostgreSQL schema as JSON."""
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        path = make_url(database_url).database
        parts = [path + suffix for suffix in ("", "-wal", "-journal")]
        return b"".join(p.read_bytes() for p in map(Path, parts) if p.exists()).decode("latin-1")
    with db.engine.connect() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables "
                                   "WHERE schemaname = current_schema()")).all()
        assert {t.name for t in Base.metadata.sorted_tables} <= set(tables)
        return "\n".join(
            row for table in tables
            for row in conn.scalars(text(f'SELECT row_to_json(t)::text FROM "{table}" t')))


def test_secrets_tokens_and_passwords_are_shown_once_and_stored_or_logged_nowhere(
        app, runner, receiver, dispatch, caplog, clock, database_url):
    # Every logger at DEBUG, also those with a level of their own (the app's is INFO,
    # SQLAlchemy's WARN: with DEBUG its statements and parameters are logged too).
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            caplog.set_level(logging.DEBUG, logger=name)
    assert logging.getLogger(app.logger.name).isEnabledFor(logging.DEBUG)
    passwords = {"admin": "Admin Password 775 cli", "member": "Member Password 775 ui",
                 "refused": "Refused Password 775 dup"}
    seen: list[tuple[str, str]] = []  # (label, headers and body) of every response and command
    responses = {}

    def look(label, response, status=200):
        assert response.status_code == status, (label, response.get_data(as_text=True)[:500])
        seen.append((label, response_text(response)))
        responses[label] = response
        return response

    def cli(*args, input=None) -> str:
        result = runner.invoke(args=list(args), input=input)
        assert result.exit_code == 0, result.output
        seen.append((f"flask {args[0]} {args[1]}", result.output))
        return result.stdout.strip()

    cli("users", "create", "admin@example.com", "--admin", "--password-stdin",
        input=passwords["admin"] + "\n")
    cli("projects", "create", "775", "Secrets")
    cli_token = cli("tokens", "create", "--user", "admin@example.com", "--name", "cli",
                    "--scopes", "events:write,webhooks:read,webhooks:write")
    admin = db.session.scalar(select(User))
    _, direct_token = auth.create_token(db.session, admin, "direct", "webhooks:read", None, None,
                                        clock())
    db.session.commit()
    browser = Browser(app)
    htmx = {**HTMX, "X-CSRFToken": browser.sign_in("admin@example.com", passwords["admin"])}
    api = bearer(cli_token)

    look("ui: create a user", browser("POST", "/admin/users", headers=htmx, data={
        "email": "member@example.com", "password": passwords["member"]}))
    look("ui: a refused user", browser("POST", "/admin/users", headers=htmx, data={
        "email": "member@example.com", "password": passwords["refused"]}), 422)
    created = look("api: create a webhook", browser(
        "POST", f"{API}/projects/775/webhooks", headers=api,
        json={"url": receiver.url("/secrets-hook-a"), "events": ["task.created"]}), 201).json
    hook_a, api_secret = created["id"], created["secret"]
    api_rotated = look("api: rotate", browser("POST", f"{API}/webhooks/{hook_a}/rotate-secret",
                                              headers=api)).json["secret"]
    page = look("ui: create a webhook", browser(
        "POST", "/projects/775/webhooks", headers=htmx,
        data={"url": receiver.url("/secrets-hook-b"), "events": ["task.created"]}))
    ui_secret = NEW_SECRET_RE.search(page.get_data(as_text=True)).group(1)
    hook_b = db.session.scalar(select(Webhook.id).where(Webhook.url.endswith("/secrets-hook-b")))
    page = look("ui: rotate", browser("POST", f"/webhooks/{hook_b}/rotate-secret", headers=htmx))
    ui_rotated = NEW_SECRET_RE.search(page.get_data(as_text=True)).group(1)
    page = look("ui: create a token", browser("POST", "/tokens", headers=htmx, data={
        "name": "ui", "scopes": ["webhooks:read"], "access": "all", "expires_in": ""}))
    ui_token = NEW_TOKEN_RE.search(page.get_data(as_text=True)).group(1)

    look("api: an event", browser("POST", f"{API}/events", headers=api, json={
        "event": "task.created", "task": {"id": 1, "goalId": 775}}), 202)
    assert dispatch() == 2
    signed = {r.path: r for r in receiver.requests}["/secrets-hook-a"]
    assert signed.headers["X-Webhook-Signature"] == sign(signed.body, api_rotated)
    look("ui: test send", browser("POST", f"/webhooks/{hook_b}/test", headers=htmx))
    look("api: test send", browser("POST", f"{API}/webhooks/{hook_a}/test", headers=api))
    delivery = db.session.scalar(select(Delivery.id).where(Delivery.webhook_id == hook_a)
                                 .order_by(Delivery.id))
    for label, url, headers in [
        ("api: the webhook", f"{API}/webhooks/{hook_a}", api),
        ("api: the webhooks", f"{API}/projects/775/webhooks", api),
        ("api: deliveries", f"{API}/webhooks/{hook_a}/deliveries", api),
        ("api: a delivery", f"{API}/deliveries/{delivery}", api),
        ("ui: webhooks page", "/projects/775/webhooks", {}),
        ("ui: webhook row", f"/webhooks/{hook_b}", htmx),
        ("ui: webhook form", f"/webhooks/{hook_b}/edit", htmx),
        ("ui: tokens page", "/tokens", {}),
        ("ui: deliveries page", f"/webhooks/{hook_b}/deliveries", {}),
        ("ui: delivery page", f"/deliveries/{delivery}", {}),
        ("ui: delivery detail", f"/deliveries/{delivery}?open=1", htmx),
        ("ui: users page", "/admin/users", {}),
    ]:
        look(label, browser("GET", url, headers=headers))

    # Each secret is in the one response that showed it, and in no other.
    shown_by = {api_secret: "api: create a webhook", api_rotated: "api: rotate",
                ui_secret: "ui: create a webhook", ui_rotated: "ui: rotate",
                ui_token: "ui: create a token", cli_token: "flask tokens create",
                direct_token: None}
    assert len(set(shown_by)) == 7
    for plaintext, label in shown_by.items():
        assert [where for where, body in seen if plaintext in body] == ([label] if label else [])
    for password in passwords.values():
        assert [where for where, body in seen if password in body] == []
    # No cache and no back button keeps a copy: of the answers that show a secret, nor of the
    # pages the UI swaps one into.
    for label in ("api: create a webhook", "api: rotate", "ui: create a webhook", "ui: rotate",
                  "ui: create a token", "ui: webhooks page", "ui: tokens page"):
        assert "no-store" in responses[label].headers.get("Cache-Control", ""), label
    for request in receiver.requests:  # receivers get a signature, never the secret
        sent = repr(request.headers) + request.body.decode()
        assert not [p for p in shown_by if p in sent]

    stored = stored_text(database_url)
    assert "/secrets-hook-a" in stored and "member@example.com" in stored  # the dump sees data
    assert [p for p in [*shown_by, *passwords.values()] if p in stored] == []

    logs = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "delivery=" in logs and "INSERT INTO webhooks" in logs  # the capture works
    assert [p for p in [*shown_by, *passwords.values()] if p in logs] == []
