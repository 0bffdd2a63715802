"""`UserError`: how a mutation says that its input cannot be applied (nothing was changed)."""

from __future__ import annotations

import strawberry

from core import errors
from schema.enums import described_enum

UserErrorCode = described_enum(
    errors.UserErrorCode,
    "Why a mutation did not do what was asked.",
    {
        "INVALID_INPUT": "A value breaks a rule of its field (blank, too long, not an email, a bad "
        "colour, a past expiry, a list that is not every item once...): `message` says which.",
        "EMAIL_TAKEN": "`signUp`: an account already has this email.",
        "INVALID_CREDENTIALS": "`logIn`: the email or the password is wrong (without telling "
        "which). `passwordChange`: the current password is wrong.",
        "THROTTLED": "`logIn`: too many recent failed sign-ins for this email or from this "
        "address; the attempt was not checked. Try again later.",
        "NOT_FOUND": "An ID the input points at (a state, label, assignee, parent...) names "
        "nothing of its type you can see in the workspace, or an API token or invitation "
        "token is unknown, not yours, expired or revoked. An object the mutation acts on that "
        "cannot be found is a GraphQL error with code NOT_FOUND instead.",
        "SLUG_TAKEN": "Another workspace already has this slug.",
        "ALREADY_MEMBER": "`memberInvite`: the email is a member's already. "
        "`invitationAccept`: you are a member of the workspace already.",
        "LAST_OWNER": "The change would leave the workspace without an OWNER (demoting, removing "
        "or leaving as its only one): make someone else an OWNER first.",
        "CONFLICT": "`expectedVersion` is not the object's current `version`: it changed since "
        "you read it. Nothing was written; the payload carries the object as it is now.",
        "IDEMPOTENCY_KEY_REUSED": "You used this `idempotencyKey` in the last 24 hours for a "
        "different mutation or input.",
        "CYCLE": "`parentId` would make an issue a sub-issue of itself or of one of its own "
        "sub-issues.",
        "NOT_A_MEMBER": "The assignee or project lead given is not a member of the workspace.",
        "KEY_TAKEN": "Another project of the workspace already has this key.",
        "NAME_TAKEN": "Another label, or workflow state, of the workspace already has this name.",
        "ARCHIVED": "The project is archived: issues cannot be created in it or moved to it.",
        "STATE_IN_USE": "`workflowStateDelete`: issues are in the state and no `moveIssuesToId` "
        "says where they go.",
        "LAST_STATE": "`workflowStateDelete`: a workspace keeps at least one workflow state.",
        "TOO_MANY": "`issueBatchUpdate`: no issue IDs, or more than 50.",
    },
)


@strawberry.type(description="A problem with a mutation's input; nothing was changed.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What kind of problem, for programs.")
    field: list[str] | None = strawberry.field(description="Path of the input field at fault.")
    message: str = strawberry.field(
        description="The problem in a sentence for people, in English; may change between "
        "versions, unlike `code`."
    )

    @classmethod
    def from_record(cls, error: errors.UserError) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)
