from aiohttp import web

from app.accounts import views

routes = web.RouteTableDef()

routes.get("/signup", name="signup")(views.signup_form)
routes.post("/signup")(views.signup)
routes.get("/login", name="login")(views.login_form)
routes.post("/login")(views.login_submit)
routes.post("/logout", name="logout")(views.logout_submit)
routes.post("/logout/everywhere", name="logout_everywhere")(views.logout_everywhere_submit)
routes.get("/profile", name="profile")(views.profile)
routes.post("/profile")(views.profile_update)
routes.post("/profile/password", name="password_change")(views.password_change)
routes.get("/profile/api-keys", name="api_keys")(views.api_keys_page)
routes.post("/profile/api-keys")(views.api_key_create)
routes.post(r"/profile/api-keys/{id:\d+}/revoke", name="api_key_revoke")(views.api_key_revoke)
routes.post("/language", name="language")(views.language_choose)
