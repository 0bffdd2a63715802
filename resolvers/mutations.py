"""The one runner of every mutation: authorize → claim the idempotency key → validate and
write → append the activity → commit, as one transaction, retried after a deadlock.

A mutation's own code (`run`) decides and writes; it never commits. Whatever it returns with
payload errors, and whatever it raises, is rolled back here, so a refused or failed mutation
changes nothing, even in a document that runs several mutations. The two exceptions are
declared in its `Done`: a refusal that must still be remembered (a failed sign-in counts
towards throttling; a replayed refresh token revokes its session).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import asyncpg
import strawberry

from core.errors import BacklogError, UserError, UserErrorCode, user_error
from core.text import unstorable_text
from db import activity, idempotency
from resolvers import reactions
from resolvers.guards import require_credential_owner, require_writer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from auth.viewer import Viewer
    from db.activity import Change
    from resolvers.context import Context

MAX_IDEMPOTENCY_KEY = 255
DEADLOCK_RETRIES = 2


class Outcome:
    """What a mutation did, as records for the schema layer to map into its payload type: the
    payload's fields by name (rows, lists of rows, ids, secrets), or the `errors` that mean
    nothing was written (a CONFLICT also carries the object as it is now)."""

    __slots__ = ("errors", "values")

    def __init__(self, errors: Sequence[UserError] = (), **values: Any) -> None:
        self.errors = list(errors)
        self.values = values

    def __repr__(self) -> str:
        return f"Outcome(errors={self.errors!r}, **{self.values!r})"


class Access(Enum):
    """Who may run a mutation at all; what they may do to a given object is the mutation's own
    policy (`auth.policies`)."""

    ANYONE = "anyone"
    """Signing up and in: no credential needed."""
    WRITER = "writer"
    """A signed-in viewer whose credential may write (`policies.can_write`)."""
    CREDENTIAL_OWNER = "credential owner"
    """Passwords and tokens: a signed-in session, not an API token
    (`policies.can_manage_credentials`)."""


@dataclass(slots=True)
class Journal:
    """What a mutation changed, for the activity log; appended when the mutation commits."""

    actor_id: int | None
    changes: list[Change] = field(default_factory=list)

    def record(self, change: Change) -> None:
        self.changes.append(change)


@dataclass(frozen=True, slots=True)
class Done:
    """A mutation's outcome, and the ids a retry rebuilds it from."""

    outcome: Outcome
    result_ids: tuple[int, ...] = ()
    keep_writes: bool = False
    """Commit what was written even though the outcome has errors, or `fail_with` is set."""
    fail_with: BacklogError | None = None
    """Raised once the transaction is over (committed if `keep_writes`)."""
    viewer: Viewer | None = None
    """The viewer as the commit left them (their own memberships changed): the rest of the
    response reads with their new scope."""


@dataclass(frozen=True, slots=True)
class Returns:
    """How a retry rebuilds a mutation's outcome from the ids the first attempt stored: its
    `field` gets the row of each id, read by `loader` (a `Loaders` attribute), as the objects
    are now. A mutation without a `loader` takes no idempotency key."""

    field: str | None = None
    loader: str | None = None
    many: bool = False

    async def replayed(self, context: Context, ids: tuple[int, ...]) -> Outcome:
        assert self.field is not None and self.loader is not None
        rows = await getattr(context.loaders, self.loader).load_many(list(ids))
        found = [row for row in rows if row is not None]
        if ids and not found:
            return Outcome(
                [
                    user_error(
                        UserErrorCode.NOT_FOUND,
                        "What the first attempt with this key made is gone (or no longer "
                        "visible to you).",
                    )
                ]
            )
        return Outcome(**{self.field: found if self.many else found[0]})


async def perform(
    context: Context,
    operation: str,
    input: Any,
    returns: Returns,
    run: Callable[[Journal], Awaitable[Done]],
    *,
    access: Access = Access.WRITER,
) -> Outcome:
    """Run one mutation as one transaction; `input.idempotency_key` (if any) makes it safe to
    retry: the same key and input within 24 hours replays the result, without doing the work
    again; the same key with another input is refused."""
    actor_id = _authorized(context, access)
    key = getattr(input, "idempotency_key", None) if returns.loader is not None else None
    if key is not None and (not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or unstorable_text(key)):
        return Outcome(
            [
                user_error(
                    UserErrorCode.INVALID_INPUT,
                    f"An idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} characters of text.",
                    "idempotencyKey",
                )
            ]
        )
    db = context.db
    viewer = None
    for attempt in range(1 + DEADLOCK_RETRIES):
        try:
            outcome, viewer = await _attempt(context, operation, input, returns, run, actor_id, key)
        except asyncpg.DeadlockDetectedError:
            # PostgreSQL rolled one side back; nothing of this attempt stayed, so run it again,
            # reading afresh.
            await db.rollback()
            context.reload()
            if attempt == DEADLOCK_RETRIES:
                raise
            continue
        except asyncpg.ForeignKeyViolationError:
            # A state, label, issue... this change points at was deleted by a transaction that
            # committed after our checks read it.
            await db.rollback()
            outcome = Outcome(
                [
                    user_error(
                        UserErrorCode.NOT_FOUND,
                        "Something this change refers to was deleted meanwhile.",
                    )
                ]
            )
        except BaseException:
            # Nothing of it stays: neither may rows it read, for what the document runs next.
            await db.rollback()
            context.reload()
            raise
        break
    # Loaders may hold rows read before the change (or before a rollback): start afresh.
    context.reload(viewer)
    return outcome


def _authorized(context: Context, access: Access) -> int | None:
    if access is Access.ANYONE:
        return context.viewer.user_id
    if access is Access.CREDENTIAL_OWNER:
        return require_credential_owner(context)
    return require_writer(context)


async def _attempt(
    context: Context,
    operation: str,
    input: Any,
    returns: Returns,
    run: Callable[[Journal], Awaitable[Done]],
    actor_id: int | None,
    key: str | None,
) -> tuple[Outcome, Viewer | None]:
    """The outcome, and the viewer as the commit left them (None: unchanged)."""
    db = context.db
    if key is not None:
        assert actor_id is not None  # keys are claimed per user: only for writers
        request_hash = fingerprint(input)
        previous = await idempotency.claim(db, actor_id, key, operation, request_hash)
        if previous is not None:
            await db.rollback()
            if (previous.operation, previous.request_hash) != (operation, request_hash):
                reused = user_error(
                    UserErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "This idempotency key was used for a different request.",
                    "idempotencyKey",
                )
                return Outcome([reused]), None
            ids = tuple(previous.result.get("ids", ()))
            return await returns.replayed(context, ids), None
    journal = Journal(actor_id)
    done = await run(journal)
    refused = bool(done.outcome.errors) or done.fail_with is not None
    if refused and not done.keep_writes:
        await db.rollback()
    else:
        if key is not None and actor_id is not None and not refused:
            await idempotency.complete(db, actor_id, key, {"ids": list(done.result_ids)})
        await reactions.react(context, actor_id, journal.changes)
        await activity.append(db, actor_id, journal.changes)
        await db.commit()
    if done.fail_with is not None:
        raise done.fail_with
    return done.outcome, None if refused else done.viewer


def fingerprint(input: Any) -> str:
    """SHA-256 of the input's canonical JSON, without its idempotency key."""
    return hashlib.sha256(
        json.dumps(_canonical(input), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _canonical(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "idempotency_key" and getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
