"""Every web.AppKey, in one place."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.metrics import Metrics
from app.models import User
from app.settings import Settings
from app.web.assets import StaticAssets

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
db_key = web.AppKey("db", async_sessionmaker[AsyncSession])
static_key = web.AppKey("static_assets", StaticAssets)
metrics_key = web.AppKey("metrics", Metrics)
response_headers_key = web.AppKey("response_headers", dict[str, str])

# Per-request values, set by the middlewares.
request_id_key = web.RequestKey("request_id", str)
csrf_token_key = web.RequestKey("csrf_token", str)
# A union is not a class, so its type goes in the subscript rather than the second argument.
user_key = web.RequestKey[User | None]("user")
