"""Rate limits: a budget of points per caller and window, shared by every server process.

- A request costs `1 + ⌊objects / 100⌋` points, its objects being its cost (`server/cost.py`).
  The 1 is its admission, paid before its document is parsed (`admission`, charged by the
  view), so a caller whose budget is spent is refused whatever it sends; the rest is charged
  once the document is validated (`document_charges`, by `server.cost.CostLimit`).
- The points are charged to the viewer's user (all of a user's sessions and API tokens share
  one budget, `BACKLOG_RATE_LIMIT`), or, for an anonymous caller, to its address
  (`BACKLOG_ANONYMOUS_RATE_LIMIT`; an IPv6 address by its /64, `address_key`).
- Each account operation in a document (`signUp`, `logIn`, `tokenRefresh`, `passwordChange`,
  `passwordResetRequest`, `passwordResetComplete`, `memberInvite`, `invitationAccept`: a
  password hash or an email each) also costs 1 of its
  address's own, smaller budget (`BACKLOG_ACCOUNT_RATE_LIMIT`), whoever the caller is.
- Windows are fixed, `BACKLOG_RATE_LIMIT_WINDOW_S` long, on PostgreSQL's clock. Charges that
  do not fit are refused all together (429, `Retry-After`, `RATE_LIMITED`: `refusal`).

What is spent lives in PostgreSQL (`rate_limit_windows`), so every process draws on the same
budget. A statement per request would be a round trip added to every request, so a process
*leases* points: when a key's lease cannot pay for a request, it charges PostgreSQL the request
plus a lease of `1/LEASE_FRACTION` of the limit (if that still fits; otherwise the request
alone), and later requests are paid from the lease without a statement. Spending is exact
within one process; across N processes a caller may be refused while up to N leases
(N % of its limit) stand unused elsewhere, and `remaining` may lag by as much. What PostgreSQL
last said was spent only grows within a window, so a caller it cannot pay for is refused
locally, without a statement, until the window ends.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
)
from graphql.utilities import get_operation_ast

from core.errors import RateLimitedError
from core.limits import RateLimitStatus
from db import rate_limits

if TYPE_CHECKING:
    from auth.viewer import Viewer
    from db.session import Database
    from server.settings import Settings

logger = logging.getLogger("backlog.rate_limits")

OBJECTS_PER_POINT = 100
LEASE_FRACTION = 100
ACCOUNT_OPERATIONS = frozenset(
    {
        "signUp",
        "logIn",
        "tokenRefresh",
        "passwordChange",
        "passwordResetRequest",
        "passwordResetComplete",
        "memberInvite",
        "invitationAccept",
    }
)
"""Root mutation fields that hash a password or send an email: limited per address as well."""


def request_points(objects: int) -> int:
    return 1 + objects // OBJECTS_PER_POINT


def account_operations(document: DocumentNode, operation_name: str | None) -> int:
    """How many account operations the mutation a request runs holds (aliases count each)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.MUTATION:
        return 0
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return sum(
        1
        for name in _root_field_names(operation.selection_set, fragments, set())
        if name in ACCOUNT_OPERATIONS
    )


def _root_field_names(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    spread: set[str],
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_field_names(selection.selection_set, fragments, spread)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in spread:
                spread.add(name)  # validation refuses cycles later; never loop on one here
                yield from _root_field_names(fragment.selection_set, fragments, spread)


@dataclass(frozen=True, slots=True)
class Charge:
    key: str
    points: int
    limit: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to one request's charges: its status (the caller's own budget) and, when
    refused, which budget refused it and how long until it is renewed."""

    status: RateLimitStatus
    refused_by: Charge | None = None
    retry_after_s: int = 0

    @property
    def allowed(self) -> bool:
        return self.refused_by is None


@lru_cache(maxsize=4096)
def address_key(address: str) -> str:
    """Whose budget an address spends: an IPv6 client's whole /64, which one subscriber is
    given and may use every address of (keyed by /128, each would be a fresh budget); an IPv4
    address itself; anything that is no address (a proxy's garbage) one shared key."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unparsed"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network((ip, 64), strict=False))
    return str(ip)


def refusal(verdict: Verdict, status: RateLimitStatus) -> RateLimitedError:
    """The error of a refused request; `status` is the caller's own budget."""
    refused = verdict.refused_by
    assert refused is not None
    if refused.key.startswith("accounts:"):
        message = (
            "Too many sign-ups, sign-ins, token refreshes, password changes or resets, or "
            f"invitations from this address: at most {refused.limit:,} a window; try again after "
            f"{iso(verdict.status.reset_at)}."
        )
    else:
        message = (
            f"Rate limit exceeded: this request costs {status.cost:,} points and "
            f"{status.remaining:,} of your {status.limit:,} are left until "
            f"{iso(status.reset_at)}."
        )
    return RateLimitedError(
        message,
        cost=status.cost,
        limit=status.limit,
        remaining=status.remaining,
        resetAt=iso(status.reset_at),
        retryAfter=verdict.retry_after_s,
    )


def iso(moment: datetime) -> str:
    """As the schema's `DateTime` fields write it."""
    return moment.astimezone(UTC).isoformat()


@dataclass(slots=True)
class _Lease:
    unused: int
    spent: int
    """The key's points spent in PostgreSQL when this process last charged it (every
    process's leases included)."""
    reset_at: datetime
    expires: float
    """`time.monotonic()` at `reset_at`: the lease is of that window only."""


class RateLimiter:
    """One per process. `database` is set when the app starts (its own small pool: a request
    holding its connection never waits on another one of the same pool)."""

    def __init__(self, settings: Settings) -> None:
        self.window_s = settings.rate_limit_window_s
        self.user_limit = settings.rate_limit
        self.anonymous_limit = settings.anonymous_rate_limit
        self.account_limit = settings.account_rate_limit
        self.database: Database | None = None
        self._leases: dict[str, _Lease] = {}
        self._leasing: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.user_limit > 0

    def admission(self, viewer: Viewer, address: str) -> Charge:
        """The point every request pays, charged before its document is even parsed: a caller
        whose budget is spent is refused at once, whatever it sends (a document that does not
        parse or validate costs the server work too)."""
        if viewer.user_id is not None:
            return Charge(f"user:{viewer.user_id}", 1, self.user_limit)
        return Charge(f"address:{address_key(address)}", 1, self.anonymous_limit)

    def document_charges(
        self, admission: Charge, address: str, objects: int, account_operations: int
    ) -> list[Charge]:
        """What a validated document owes beyond its admission: a point per 100 objects to its
        caller's budget, and its account operations to its address's (those owing nothing are
        left out)."""
        charges = [replace(admission, points=objects // OBJECTS_PER_POINT)]
        if self.account_limit > 0:
            key = f"accounts:{address_key(address)}"
            charges.append(Charge(key, account_operations, self.account_limit))
        return [charge for charge in charges if charge.points > 0]

    async def charge(self, charges: Sequence[Charge]) -> Verdict:
        """Pays for a request from this process's leases, or charges PostgreSQL; all the
        charges or none. Raises DatabaseUnavailableError when PostgreSQL cannot be asked."""
        now = time.monotonic()
        leases = [self._live_lease(charge.key, now) for charge in charges]
        if all(lease is not None for lease in leases):
            for charge, lease in zip(charges, leases, strict=True):
                assert lease is not None
                if lease.spent - lease.unused + charge.points > charge.limit:
                    # What PostgreSQL said was spent, which only grows within a window, leaves
                    # too little: it would refuse too, so a refused caller costs no statement.
                    return self._refusal(charges, leases, charge, now)
            if all(
                lease is not None and lease.unused >= charge.points
                for charge, lease in zip(charges, leases, strict=True)
            ):
                for charge, lease in zip(charges, leases, strict=True):
                    assert lease is not None
                    lease.unused -= charge.points
                return Verdict(self._status(charges[0], leases[0]))
        # What the leases can pay is taken now, before the round trip, so that a concurrent
        # request of the same caller cannot count it too; given back if the charge is refused.
        taken = [
            min(lease.unused, charge.points) if lease is not None else 0
            for lease, charge in zip(leases, charges, strict=True)
        ]
        for lease, amount in zip(leases, taken, strict=True):
            if lease is not None:
                lease.unused -= amount
        owed = [
            (charge, charge.points - amount)
            for charge, amount in zip(charges, taken, strict=True)
            if charge.points > amount
        ]
        try:
            rows = await self._charge_database(owed)
        except BaseException:
            self._give_back(leases, taken)
            raise
        now = time.monotonic()
        noted = {charge.key: self._note(charge.key, rows[charge.key], now) for charge, _ in owed}
        if any(rows[charge.key].granted is None for charge, _ in owed):
            # Refused: the budget that could not pay is one whose row has too little left.
            self._give_back(leases, taken)
            leases = [
                noted.get(charge.key, lease) for charge, lease in zip(charges, leases, strict=True)
            ]
            refused = next(
                (charge for charge, need in owed if rows[charge.key].spent + need > charge.limit),
                owed[0][0],
            )
            return self._refusal(charges, leases, refused, now)
        return Verdict(self._status(charges[0], noted.get(charges[0].key, leases[0])))

    async def _charge_database(
        self, owed: Sequence[tuple[Charge, int]]
    ) -> dict[str, rate_limits.Charged]:
        if self.database is None:
            raise RuntimeError("the rate limiter has no database yet")
        # One lease per key in flight: concurrent requests of a caller whose lease ran out each
        # pay for themselves, instead of each taking another 1% of its budget.
        leasing = {charge.key for charge, _ in owed} - self._leasing
        self._leasing |= leasing
        try:
            return await rate_limits.charge(
                self.database,
                keys=[charge.key for charge, _ in owed],
                needs=[need for _, need in owed],
                extras=[
                    charge.limit // LEASE_FRACTION if charge.key in leasing else 0
                    for charge, _ in owed
                ],
                limits=[charge.limit for charge, _ in owed],
                window_seconds=self.window_s,
            )
        finally:
            self._leasing -= leasing

    def _live_lease(self, key: str, now: float) -> _Lease | None:
        lease = self._leases.get(key)
        if lease is not None and lease.expires <= now:
            # Its window is over: what it did not use is gone with it, as at every window's end.
            del self._leases[key]
            return None
        return lease

    def _note(self, key: str, row: rate_limits.Charged, now: float) -> _Lease:
        """What PostgreSQL answered for `key`: the lease it granted (none when refused) and
        what is spent, for this window."""
        granted = row.granted or 0
        lease = self._leases.get(key)
        if lease is not None and lease.reset_at >= row.reset_at:
            if lease.reset_at == row.reset_at:
                # A concurrent request's lease of the same window: both stay usable.
                lease.unused += granted
                lease.spent = max(lease.spent, row.spent)
            # else: an answer about a window already over arrived late; its lease is void.
            return lease
        expires = now + (row.reset_at - row.checked_at).total_seconds()
        lease = self._leases[key] = _Lease(granted, row.spent, row.reset_at, expires)
        return lease

    @staticmethod
    def _give_back(leases: Iterable[_Lease | None], taken: Iterable[int]) -> None:
        for lease, amount in zip(leases, taken, strict=True):
            if lease is not None:
                lease.unused += amount

    def _refusal(
        self,
        charges: Sequence[Charge],
        leases: Sequence[_Lease | None],
        refused: Charge,
        now: float,
    ) -> Verdict:
        by_key = {charge.key: lease for charge, lease in zip(charges, leases, strict=True)}
        lease = by_key[refused.key]
        assert lease is not None  # noted from PostgreSQL's answer, or live
        wait = max(1, math.ceil(lease.expires - now))
        return Verdict(self._status(charges[0], leases[0]), refused_by=refused, retry_after_s=wait)

    @staticmethod
    def _status(charge: Charge, lease: _Lease | None) -> RateLimitStatus:
        # Every charge has a lease once paid or refused: taken from it, or noted from PostgreSQL.
        assert lease is not None
        return RateLimitStatus(
            cost=charge.points,
            limit=charge.limit,
            remaining=max(0, charge.limit - (lease.spent - lease.unused)),
            reset_at=lease.reset_at,
        )

    def forget_expired_leases(self) -> None:
        """Drops the leases of windows that are over: without this, every client address that
        ever called would keep an entry."""
        now = time.monotonic()
        self._leases = {key: lease for key, lease in self._leases.items() if lease.expires > now}

    async def forget_stale_windows_forever(self) -> None:
        """Once a window: drops this process's expired leases, and deletes the rows of callers
        idle for two windows (each process does: one cheap statement, and idempotent)."""
        while True:
            await asyncio.sleep(self.window_s)
            self.forget_expired_leases()
            if self.database is None:
                continue
            try:
                await rate_limits.forget_stale_windows(self.database, self.window_s)
            except Exception as error:  # the next window tries again
                logger.warning("could not delete stale rate-limit windows: %s", error)
