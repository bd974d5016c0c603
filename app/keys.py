"""Every web.AppKey, in one place."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
from aiohttp import web
from py_vapid import Vapid02
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.assets import StaticAssets
from app.connection import RequestConnection
from app.metrics import Metrics
from app.models import KeyOwner, User
from app.settings import Settings
from app.slots import Slots

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
db_key = web.AppKey("db", async_sessionmaker[AsyncSession])
static_key = web.AppKey("static_assets", StaticAssets)
metrics_key = web.AppKey("metrics", Metrics)
response_headers_key = web.AppKey("response_headers", dict[str, str])
# Exports running in this process: at most EXPORTS_AT_ONCE, EXPORTS_PER_USER per account.
export_slots_key = web.AppKey("export_slots", Slots)
# Readings ingestion's own asyncpg pool, beside the SQLAlchemy one (app/sensors/ingest.py says
# why), and its limits: batches in flight (one per key) and batches parsed at once.
ingest_pool_key = web.AppKey("ingest_pool", asyncpg.Pool)
batch_slots_key = web.AppKey("batch_slots", Slots)
batch_cpu_key = web.AppKey("batch_cpu", asyncio.Semaphore)
# The client that posts alert webhooks, and its deliveries in flight (awaited at shutdown).
webhook_client_key = web.AppKey("webhook_client", aiohttp.ClientSession)
deliveries_key = web.AppKey[set[asyncio.Task[None]]]("webhook_deliveries")
# Web Push: the key messages are signed with (VAPID), and the client that posts them.
vapid_key = web.AppKey("vapid_key", Vapid02)
push_client_key = web.AppKey("push_client", aiohttp.ClientSession)

# Per-request values, set by the middlewares.
request_id_key = web.RequestKey("request_id", str)
csrf_token_key = web.RequestKey("csrf_token", str)
# A union is not a class, so its type goes in the subscript rather than the second argument.
user_key = web.RequestKey[User | None]("user")
# The SHA-256 of the request's session token: which of the user's sessions is this one.
session_token_hash_key = web.RequestKey("session_token_hash", str)
# The language the request is answered in, and whether its Accept-Language header chose it.
language_key = web.RequestKey[tuple[str, bool]]("language")
# The API key the request carries and its holder, once app/web/api.py has looked it up.
key_holder_key = web.RequestKey("key_holder", KeyOwner)
# The request's database connection, lent to its sessions one at a time (app/web/database.py).
request_connection_key = web.RequestKey("request_connection", RequestConnection)
