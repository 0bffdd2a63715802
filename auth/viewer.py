"""Who is asking: the authenticated user and the workspaces they belong to."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.enums import Role


@dataclass(frozen=True, slots=True)
class Viewer:
    """The identity a request acts as, with every workspace role it holds, loaded once.

    Policies are pure functions of a `Viewer` and the object at hand, so they never query.
    """

    user_id: int | None
    roles: Mapping[int, Role] = field(default_factory=dict)
    can_write: bool = True
    """False for a read-only API token: it may query, never mutate."""
    via_api_token: bool = False

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls(user_id=None)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def workspace_ids(self) -> list[int]:
        return list(self.roles)

    def role_in(self, workspace_id: int) -> Role | None:
        return self.roles.get(workspace_id)

    def with_role(self, workspace_id: int, role: Role | None) -> Viewer:
        """This viewer with `role` in the workspace (None: not a member of it)."""
        roles = {key: value for key, value in self.roles.items() if key != workspace_id}
        if role is not None:
            roles[workspace_id] = role
        return dataclasses.replace(self, roles=roles)
