"""Deterministic demo and benchmark data, bulk-loaded with COPY.

The same plan and seed always produce the same rows, so benchmark runs compare like with like.
Distributions aim at what a real tracker looks like: a few people hold most assignments, most
issues have a handful of comments and a few have many, issues carry 0-4 labels.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from sqlalchemy import text

from db.issues import NEW_ISSUE_FIELDS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine

DEMO_EMAIL = "demo@backlog.dev"
DEMO_PASSWORD = "backlog-demo"

STATES = (
    ("Backlog", "BACKLOG"),
    ("Todo", "UNSTARTED"),
    ("In Progress", "STARTED"),
    ("In Review", "STARTED"),
    ("Done", "COMPLETED"),
    ("Canceled", "CANCELED"),
)
LABEL_NAMES = (
    "Bug",
    "Feature",
    "Improvement",
    "Docs",
    "Security",
    "Performance",
    "Design",
    "Tech debt",
    "Customer",
    "Infra",
    "Mobile",
    "Web",
    "API",
    "Billing",
    "Onboarding",
    "Search",
    "Auth",
    "Analytics",
    "Accessibility",
    "i18n",
    "Regression",
    "Flaky test",
    "Support",
    "Legal",
    "Research",
    "Spike",
    "Blocked",
    "Good first issue",
    "Needs design",
    "Release",
)
PRIORITIES = ("URGENT", "HIGH", "MEDIUM", "LOW", "NONE")
PRIORITY_WEIGHTS = (3, 12, 30, 25, 30)
WORDS = (
    "login",
    "export",
    "sync",
    "dashboard",
    "crash",
    "timeout",
    "invoice",
    "search",
    "upload",
    "avatar",
    "webhook",
    "filter",
    "report",
    "billing",
    "onboarding",
    "cache",
    "migration",
    "notification",
    "permissions",
    "import",
    "calendar",
    "mobile",
    "API",
    "latency",
    "layout",
)
VERBS = ("Fix", "Add", "Improve", "Investigate", "Refactor", "Remove", "Document", "Speed up")
FIRST_NAMES = (
    "Ada",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Alan",
    "Radia",
    "Edsger",
    "Hedy",
    "John",
    "Katherine",
    "Tim",
    "Anita",
    "Guido",
    "Sophie",
    "Bjarne",
    "Joan",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Turing",
    "Perlman",
    "Dijkstra",
    "Lamarr",
    "Backus",
    "Johnson",
    "Berners-Lee",
    "Borg",
)


@dataclass(frozen=True)
class SeedPlan:
    """How much data to make; the first workspace gets it, a small second one shows isolation."""

    issues: int = 150
    """The first workspace's; the second gets a twentieth as many (at least 10) besides."""
    projects: int = 3
    """The first workspace's; the second has one project of its own besides."""
    users: int = 12
    """Accounts in all, never fewer than DEMO_PEOPLE; the others are members of the first
    workspace."""
    labels: int = 8
    """The first workspace's: the first of LABEL_NAMES, so never more than there are names (the
    second workspace has 3)."""
    comments_per_issue: float = 3.0
    """The mean of the exponential distribution each issue's comment count is drawn from
    (rounded down, capped at 30)."""
    seed: int = 42
    """Of the one random generator: the same plan and seed make the same rows."""


SCALES = {
    "demo": SeedPlan(),
    "small": SeedPlan(issues=10_000, projects=20, users=200, labels=30, comments_per_issue=4.0),
    "medium": SeedPlan(issues=100_000, projects=20, users=2_000, labels=30, comments_per_issue=4.0),
    "large": SeedPlan(
        issues=1_000_000, projects=20, users=20_000, labels=30, comments_per_issue=4.0
    ),
}

# The demo's people and roles: (email, name, role in acme, role in globex or None).
DEMO_PEOPLE = (
    (DEMO_EMAIL, "Demo Owner", "OWNER", "MEMBER"),
    ("ada@backlog.dev", "Ada Admin", "ADMIN", None),
    ("max@backlog.dev", "Max Member", "MEMBER", None),
    ("gus@backlog.dev", "Gus Guest", "GUEST", None),
    ("olga@globex.dev", "Olga Globex", None, "OWNER"),
)


class Progress:
    """A plain progress bar on stderr (no dependency, and silent when not a terminal)."""

    def __init__(self, total: int, *, enabled: bool = True) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled and sys.stderr.isatty()

    def step(self, what: str, amount: int = 1) -> None:
        self.done += amount
        if self.enabled:
            filled = int(30 * self.done / self.total)
            percent = 100 * self.done // self.total
            bar = "#" * filled + "-" * (30 - filled)
            sys.stderr.write(f"\r[{bar}] {percent:3d}% {what:<24}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class _Rows:
    """Rows for COPY, collected per table with ids assigned here."""

    def __init__(self) -> None:
        self.tables: dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]] = {}

    def add(self, table: str, columns: Sequence[str], row: tuple[Any, ...]) -> int:
        entry = self.tables.setdefault(table, (columns, []))
        entry[1].append(row)
        return len(entry[1])


async def database_is_empty(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return (await connection.scalar(text("SELECT count(*) FROM workspaces"))) == 0


async def seed(engine: AsyncEngine, plan: SeedPlan, *, progress: bool = True) -> dict[str, int]:
    """Load `plan` into an empty database in one transaction; returns row counts per table."""
    rows = _build(plan)
    order = (
        "users",
        "workspaces",
        "memberships",
        "workflow_states",
        "labels",
        "projects",
        "issues",
        "issue_labels",
        "comments",
    )
    bar = Progress(sum(len(rows.tables[t][1]) for t in order), enabled=progress)
    async with engine.begin() as connection:
        if await connection.scalar(text("SELECT count(*) FROM workspaces")):
            raise RuntimeError("The database already holds data; seed only loads an empty one.")
        raw = (await connection.get_raw_connection()).driver_connection
        for table in order:
            columns, records = rows.tables[table]
            for start in range(0, len(records), 20_000):
                chunk = records[start : start + 20_000]
                await raw.copy_records_to_table(table, records=chunk, columns=list(columns))
                bar.step(table, len(chunk))
            if "id" in columns:
                await connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"),
                    {"n": max(len(records), 1)},
                )
        await connection.execute(
            text(
                "UPDATE projects p SET last_issue_number = coalesce("
                "(SELECT max(number) FROM issues i WHERE i.project_id = p.id), 0)"
            )
        )
        await connection.execute(text("ANALYZE"))
    bar.close()
    return {table: len(rows.tables[table][1]) for table in order}


def _build(plan: SeedPlan) -> _Rows:
    rng = random.Random(plan.seed)
    rows = _Rows()
    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    password_hash = PasswordHasher().hash(DEMO_PASSWORD)

    user_cols = ("id", "email", "name", "password_hash", "created_at")
    people: dict[str, int] = {}
    for email, name, _acme, _globex in DEMO_PEOPLE:
        people[email] = rows.add(
            "users",
            user_cols,
            (len(people) + 1, email, name, password_hash, now - timedelta(days=400)),
        )
    extra_users = []
    for index in range(max(plan.users - len(DEMO_PEOPLE), 0)):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = f"user{index + 1}@acme.dev"
        extra_users.append(
            rows.add(
                "users",
                user_cols,
                (
                    len(people) + len(extra_users) + 1,
                    email,
                    name,
                    password_hash,
                    now - timedelta(days=rng.randint(30, 400)),
                ),
            )
        )

    ws_cols = ("id", "slug", "name", "created_at")
    acme = rows.add("workspaces", ws_cols, (1, "acme", "Acme Inc.", now - timedelta(days=400)))
    globex = rows.add(
        "workspaces", ws_cols, (2, "globex", "Globex Corp.", now - timedelta(days=300))
    )

    member_cols = ("id", "workspace_id", "user_id", "role", "created_at")
    acme_members = []
    for email, _name, acme_role, globex_role in DEMO_PEOPLE:
        for workspace, role in ((acme, acme_role), (globex, globex_role)):
            if role is not None:
                count = len(rows.tables.get("memberships", ((), []))[1])
                rows.add(
                    "memberships",
                    member_cols,
                    (count + 1, workspace, people[email], role, now - timedelta(days=300)),
                )
                if workspace == acme:
                    acme_members.append(people[email])
    for user_id in extra_users:
        count = len(rows.tables["memberships"][1])
        rows.add(
            "memberships",
            member_cols,
            (count + 1, acme, user_id, "MEMBER", now - timedelta(days=200)),
        )
        acme_members.append(user_id)
    globex_members = [people[e] for e, _n, _a, g in DEMO_PEOPLE if g is not None]

    state_cols = ("id", "workspace_id", "name", "type", "position")
    states: dict[int, list[int]] = {}
    for workspace in (acme, globex):
        for position, (name, kind) in enumerate(STATES):
            count = len(rows.tables.get("workflow_states", ((), []))[1])
            states.setdefault(workspace, []).append(
                rows.add(
                    "workflow_states", state_cols, (count + 1, workspace, name, kind, position)
                )
            )

    label_cols = ("id", "workspace_id", "name", "color", "position")
    labels: dict[int, list[int]] = {}
    for workspace, how_many in ((acme, plan.labels), (globex, 3)):
        for position, name in enumerate(LABEL_NAMES[:how_many]):
            count = len(rows.tables.get("labels", ((), []))[1])
            color = f"#{rng.randrange(0x1000000):06x}"
            labels.setdefault(workspace, []).append(
                rows.add("labels", label_cols, (count + 1, workspace, name, color, position))
            )

    project_cols = ("id", "workspace_id", "key", "name", "description", "lead_id", "created_at")
    project_specs = [(acme, key, name) for key, name in _project_names(plan.projects)]
    project_specs.append((globex, "GLX", "Globex Platform"))
    projects: list[tuple[int, int]] = []
    for index, (workspace, key, name) in enumerate(project_specs):
        lead = rng.choice(acme_members if workspace == acme else globex_members)
        project_id = rows.add(
            "projects",
            project_cols,
            (
                index + 1,
                workspace,
                key,
                name,
                f"Everything about **{name}**.",
                lead,
                now - timedelta(days=390),
            ),
        )
        projects.append((project_id, workspace))

    issue_cols = (
        "id",
        "workspace_id",
        "project_id",
        "number",
        *NEW_ISSUE_FIELDS,
        "created_at",
        "updated_at",
    )
    comment_cols = ("id", "workspace_id", "issue_id", "author_id", "body", "created_at")
    link_cols = ("issue_id", "label_id", "workspace_id")
    numbers: dict[int, int] = {}
    globex_issues = max(plan.issues // 20, 10)
    comment_id = 0
    issues_of: dict[int, list[int]] = {acme: [], globex: []}
    for index in range(plan.issues + globex_issues):
        in_globex = index >= plan.issues
        workspace = globex if in_globex else acme
        project_id = projects[-1][0] if in_globex else projects[rng.randrange(len(projects) - 1)][0]
        members = globex_members if in_globex else acme_members
        numbers[project_id] = numbers.get(project_id, 0) + 1
        created = now - timedelta(minutes=(plan.issues + globex_issues - index) * 37)
        # Skewed assignment: a few people hold most of the work; a fifth stays unassigned.
        assignee = (
            None
            if rng.random() < 0.2
            else members[min(int(rng.paretovariate(1.2)) - 1, len(members) - 1)]
        )
        siblings = issues_of[workspace]
        parent = rng.choice(siblings[-50:]) if siblings and rng.random() < 0.1 else None
        issue_id = rows.add(
            "issues",
            issue_cols,
            (
                index + 1,
                workspace,
                project_id,
                numbers[project_id],
                f"{rng.choice(VERBS)} {rng.choice(WORDS)} {rng.choice(WORDS)}",
                f"When the **{rng.choice(WORDS)}** runs, the {rng.choice(WORDS)} fails.\n\n"
                f"- steps to reproduce\n- expected: it works",
                rng.choice(states[workspace]),
                rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
                assignee,
                rng.choice(members),
                parent,
                rng.choice((None, 1, 2, 3, 5, 8)),
                (date(2026, 11, 1) + timedelta(days=rng.randint(-30, 90)))
                if rng.random() < 0.3
                else None,
                created,
                created + timedelta(hours=rng.randint(0, 500)),
            ),
        )
        siblings.append(issue_id)
        for label_id in rng.sample(
            labels[workspace], k=min(rng.randint(0, 4), len(labels[workspace]))
        ):
            rows.add("issue_labels", link_cols, (issue_id, label_id, workspace))
        # Most issues get a few comments, a few get many (capped at 30).
        for offset in range(min(int(rng.expovariate(1 / plan.comments_per_issue)), 30)):
            comment_id += 1
            rows.add(
                "comments",
                comment_cols,
                (
                    comment_id,
                    workspace,
                    issue_id,
                    rng.choice(members),
                    f"{rng.choice(('Looked into', 'Reproduced', 'Fixed', 'Reviewed'))} the "
                    f"{rng.choice(WORDS)} part.",
                    created + timedelta(hours=offset + 1),
                ),
            )
    rows.tables.setdefault("comments", (comment_cols, []))
    rows.tables.setdefault("issue_labels", (link_cols, []))
    return rows


def _project_names(count: int) -> list[tuple[str, str]]:
    named = [
        ("ENG", "Engineering"),
        ("DES", "Design"),
        ("OPS", "Operations"),
        ("WEB", "Web app"),
        ("MOB", "Mobile"),
        ("API", "Public API"),
    ]
    extra = [(f"P{index}", f"Project {index}") for index in range(len(named), count)]
    return (named + extra)[:count]
