"""`UserError`: how a mutation says that its input cannot be applied (nothing was changed)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Why a mutation did not do what was asked.")
class UserErrorCode(Enum):
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT",
        description="A value breaks a rule of its field (blank, too long, not an email, a bad "
        "colour, a past expiry, a list that is not every item once...): `message` says which.",
    )
    EMAIL_TAKEN = strawberry.enum_value(
        "EMAIL_TAKEN", description="`signUp`: an account already has this email."
    )
    INVALID_CREDENTIALS = strawberry.enum_value(
        "INVALID_CREDENTIALS",
        description="`logIn`: the email or the password is wrong (without telling which). "
        "`passwordChange`: the current password is wrong.",
    )
    THROTTLED = strawberry.enum_value(
        "THROTTLED",
        description="`logIn`: too many recent failed sign-ins for this email or from this "
        "address; the attempt was not checked. Try again later.",
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND",
        description="An ID the input points at (a state, label, assignee, parent...) names "
        "nothing of its type you can see in the workspace, or an API token or invitation "
        "token is unknown, not yours, expired or revoked. An object the mutation acts on that "
        "cannot be found is a GraphQL error with code NOT_FOUND instead.",
    )
    SLUG_TAKEN = strawberry.enum_value(
        "SLUG_TAKEN", description="Another workspace already has this slug."
    )
    ALREADY_MEMBER = strawberry.enum_value(
        "ALREADY_MEMBER",
        description="`memberInvite`: the email is a member's already. `invitationAccept`: you "
        "are a member of the workspace already.",
    )
    LAST_OWNER = strawberry.enum_value(
        "LAST_OWNER",
        description="The change would leave the workspace without an OWNER (demoting, removing "
        "or leaving as its only one): make someone else an OWNER first.",
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT",
        description="`expectedVersion` is not the object's current `version`: it changed since "
        "you read it. Nothing was written; the payload carries the object as it is now.",
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED",
        description="You used this `idempotencyKey` in the last 24 hours for a different "
        "mutation or input.",
    )
    CYCLE = strawberry.enum_value(
        "CYCLE",
        description="`parentId` would make an issue a sub-issue of itself or of one of its own "
        "sub-issues.",
    )
    NOT_A_MEMBER = strawberry.enum_value(
        "NOT_A_MEMBER",
        description="The assignee or project lead given is not a member of the workspace.",
    )
    KEY_TAKEN = strawberry.enum_value(
        "KEY_TAKEN", description="Another project of the workspace already has this key."
    )
    NAME_TAKEN = strawberry.enum_value(
        "NAME_TAKEN",
        description="Another label, or workflow state, of the workspace already has this name.",
    )
    ARCHIVED = strawberry.enum_value(
        "ARCHIVED",
        description="The project is archived: issues cannot be created in it or moved to it.",
    )
    STATE_IN_USE = strawberry.enum_value(
        "STATE_IN_USE",
        description="`workflowStateDelete`: issues are in the state and no `moveIssuesToId` "
        "says where they go.",
    )
    LAST_STATE = strawberry.enum_value(
        "LAST_STATE",
        description="`workflowStateDelete`: a workspace keeps at least one workflow state.",
    )
    TOO_MANY = strawberry.enum_value(
        "TOO_MANY", description="`issueBatchUpdate`: no issue IDs, or more than 50."
    )


@strawberry.type(description="A problem with a mutation's input; nothing was changed.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What kind of problem, for programs.")
    field: list[str] | None = strawberry.field(description="Path of the input field at fault.")
    message: str = strawberry.field(
        description="The problem in a sentence for people, in English; may change between "
        "versions, unlike `code`."
    )


def user_error(code: UserErrorCode, message: str, *field: str) -> UserError:
    return UserError(code=code, field=list(field) or None, message=message)
