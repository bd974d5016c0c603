from aiohttp import web

from app.apiaries import api, club_views, views

routes = web.RouteTableDef()

routes.get("/apiaries", name="apiary_list")(views.apiary_list)
routes.post("/apiaries")(views.apiary_create)
routes.get("/apiaries/new", name="apiary_new")(views.apiary_new)
routes.get(r"/apiaries/{id:\d+}", name="apiary")(views.apiary_detail)
routes.get(r"/apiaries/{id:\d+}/edit", name="apiary_edit")(views.apiary_edit)
routes.post(r"/apiaries/{id:\d+}/edit")(views.apiary_update)
routes.post(r"/apiaries/{id:\d+}/archive", name="apiary_archive")(views.apiary_archive)
routes.post(r"/apiaries/{id:\d+}/delete", name="apiary_delete")(views.apiary_delete)
routes.post(r"/apiaries/{id:\d+}/leave", name="apiary_leave")(views.apiary_leave)
routes.post(r"/apiaries/{id:\d+}/members/{user:\d+}", name="apiary_member")(views.member_role)
routes.post(r"/apiaries/{id:\d+}/members/{user:\d+}/remove", name="apiary_member_remove")(
    views.member_remove
)
routes.post(r"/apiaries/{id:\d+}/invitations", name="apiary_invite")(views.invitation_create)
routes.post(
    r"/apiaries/{id:\d+}/invitations/{invitation:\d+}/revoke", name="apiary_invitation_revoke"
)(views.invitation_revoke)
# Taking an invitation: by its link, or (one addressed to the account) from the apiaries page.
routes.get(r"/invitations/{token:[A-Za-z0-9_-]{1,100}}", name="invitation")(views.invitation_page)
routes.post(r"/invitations/{token:[A-Za-z0-9_-]{1,100}}")(views.invitation_accept)
routes.post(r"/invitations/{id:\d+}/accept", name="invitation_accept")(
    views.account_invitation_accept
)
routes.post(r"/invitations/{id:\d+}/decline", name="invitation_decline")(
    views.account_invitation_decline
)

# The JSON API.
routes.get("/api/v1/apiaries", name="api_apiaries")(api.apiary_list)
routes.post("/api/v1/apiaries")(api.apiary_create)
routes.get(r"/api/v1/apiaries/{id:\d+}", name="api_apiary")(api.apiary_detail)
routes.get(r"/api/v1/apiaries/{id:\d+}/members", name="api_apiary_members")(api.member_list)
routes.put(r"/api/v1/apiaries/{id:\d+}/members/{user:\d+}", name="api_apiary_member")(
    api.member_role
)
routes.delete(r"/api/v1/apiaries/{id:\d+}/members/{user:\d+}")(api.member_remove)
routes.post(r"/api/v1/apiaries/{id:\d+}/invitations", name="api_apiary_invitations")(
    api.invitation_create
)

# Clubs: a club's page is its joined members'; its organisers run it and own its apiaries.
routes.get("/clubs", name="club_list")(club_views.club_list)
routes.post("/clubs")(club_views.club_create)
routes.get("/clubs/new", name="club_new")(club_views.club_new)
routes.get(r"/clubs/{id:\d+}", name="club")(club_views.club_detail)
routes.post(r"/clubs/{id:\d+}/members", name="club_members")(club_views.member_add)
routes.post(r"/clubs/{id:\d+}/members/{user:\d+}/role", name="club_member_role")(
    club_views.member_role
)
routes.post(r"/clubs/{id:\d+}/members/{user:\d+}/remove", name="club_member_remove")(
    club_views.member_remove
)
routes.post(r"/clubs/{id:\d+}/leave", name="club_leave")(club_views.club_leave)
routes.post(r"/clubs/{id:\d+}/accept", name="club_accept")(club_views.club_accept)
routes.post(r"/clubs/{id:\d+}/decline", name="club_decline")(club_views.club_decline)
routes.post(r"/apiaries/{id:\d+}/club", name="apiary_club")(club_views.apiary_club)
