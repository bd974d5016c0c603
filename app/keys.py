"""Every web.AppKey, in one place."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.metrics import Metrics
from app.models import User
from app.settings import Settings
from app.web.assets import StaticAssets
from app.web.slots import Slots

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
db_key = web.AppKey("db", async_sessionmaker[AsyncSession])
static_key = web.AppKey("static_assets", StaticAssets)
metrics_key = web.AppKey("metrics", Metrics)
response_headers_key = web.AppKey("response_headers", dict[str, str])
# Exports running in this process: at most EXPORTS_AT_ONCE, EXPORTS_PER_USER per account.
export_slots_key = web.AppKey("export_slots", Slots)

# Per-request values, set by the middlewares.
request_id_key = web.RequestKey("request_id", str)
csrf_token_key = web.RequestKey("csrf_token", str)
# A union is not a class, so its type goes in the subscript rather than the second argument.
user_key = web.RequestKey[User | None]("user")
# The SHA-256 of the request's session token: which of the user's sessions is this one.
session_token_hash_key = web.RequestKey("session_token_hash", str)
