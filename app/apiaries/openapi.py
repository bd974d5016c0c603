"""The apiaries' part of the OpenAPI document: apiaries, their members and invitations.
app/pages/openapi.py puts it into the one document with the other features' parts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.apiaries.api import (
    ApiaryIn,
    ApiaryList,
    ApiaryOut,
    InvitationIn,
    InvitationOut,
    MemberList,
    MemberOut,
    RoleIn,
)
from app.web.api import (
    INVALID,
    TOO_LARGE,
    UNAUTHORIZED,
    UNSUPPORTED,
    id_parameter,
    idempotent_create,
    json_content,
    link,
    problem,
    ref,
)

MODELS: list[type[BaseModel]] = [
    ApiaryIn,
    ApiaryOut,
    ApiaryList,
    MemberOut,
    MemberList,
    RoleIn,
    InvitationIn,
    InvitationOut,
]

NOT_FOUND = problem(
    "You are no member of an apiary with this id (an apiary you are not in is not found)."
)
NOT_OWNER = problem(
    "You own no apiary with this id, or it has no such member: only owners change members"
    " (to anyone else the apiary is not found)."
)
LAST_OWNER = problem(
    "Refused: an apiary always keeps an owner, so its last owner can neither step down nor leave."
)
NOT_INVITED = problem(
    "Refused: no account has this email, or it is already a member (send a link instead)."
)
USER_ID = {
    "name": "user",
    "in": "path",
    "required": True,
    "description": "The member's user id.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}
EXAMPLE = {
    "name": "Community garden",
    "latitude": 52.4985,
    "longitude": 13.4105,
    "address": "Prinzenstraße 35, Berlin",
    "registration_number": "DE-BE-0421",
}


def _body(schema: str, example: Any) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": ref(schema), "example": example}},
    }


def paths() -> dict[str, Any]:
    item_errors = {"401": UNAUTHORIZED, "404": NOT_FOUND}
    body_errors = {"413": TOO_LARGE, "415": UNSUPPORTED}
    return {
        "/api/v1/apiaries": {
            "get": {
                "operationId": "listApiaries",
                "summary": "The apiaries you are a member of, with your role in each",
                "responses": {
                    "200": json_content("ApiaryList", "Your apiaries."),
                    "401": UNAUTHORIZED,
                },
            },
            "post": idempotent_create(
                "createApiary",
                "Add an apiary (you are its owner)",
                ("ApiaryIn", EXAMPLE),
                ("ApiaryOut", "The new apiary."),
                links={
                    "GetApiary": link("getApiary", id="$response.body#/id"),
                    "ListMembers": link("listApiaryMembers", id="$response.body#/id"),
                },
                not_found=NOT_FOUND,
            ),
        },
        "/api/v1/apiaries/{id}": {
            "parameters": [id_parameter("apiary")],
            "get": {
                "operationId": "getApiary",
                "summary": "One apiary, with your role in it",
                "responses": {"200": json_content("ApiaryOut", "The apiary."), **item_errors},
            },
        },
        "/api/v1/apiaries/{id}/members": {
            "parameters": [id_parameter("apiary")],
            "get": {
                "operationId": "listApiaryMembers",
                "summary": "The apiary's members and their roles",
                "responses": {"200": json_content("MemberList", "The members."), **item_errors},
            },
        },
        "/api/v1/apiaries/{id}/members/{user}": {
            "parameters": [id_parameter("apiary"), USER_ID],
            "put": {
                "operationId": "setApiaryMemberRole",
                "summary": "Give a member another role (owners only)",
                "requestBody": _body("RoleIn", {"role": "keeper"}),
                "responses": {
                    "200": json_content("MemberOut", "The member with their new role."),
                    "401": UNAUTHORIZED,
                    "404": NOT_OWNER,
                    **body_errors,
                    "409": LAST_OWNER,
                    "422": INVALID,
                },
            },
            "delete": {
                "operationId": "removeApiaryMember",
                "summary": "Remove a member (owners), or leave (your own user id)",
                "description": "What the member recorded stays, in their name.",
                "responses": {
                    "204": {"description": "Removed."},
                    "401": UNAUTHORIZED,
                    "404": NOT_OWNER,
                    "409": LAST_OWNER,
                },
            },
        },
        "/api/v1/apiaries/{id}/invitations": {
            "parameters": [id_parameter("apiary")],
            "post": {
                "operationId": "inviteToApiary",
                "summary": "Invite someone (owners only)",
                "description": (
                    "Without `email`, a link: its `url` is in this answer only and works once"
                    " until it expires. With the email of an existing account, an invitation"
                    " that account accepts on its apiaries page. Not idempotent: sent again, it"
                    " makes another invitation."
                ),
                "requestBody": _body("InvitationIn", {"role": "viewer", "days": 7}),
                "responses": {
                    "201": json_content("InvitationOut", "The invitation."),
                    "401": UNAUTHORIZED,
                    "404": NOT_OWNER,
                    "409": NOT_INVITED,
                    **body_errors,
                    "422": INVALID,
                },
            },
        },
    }
