"""create_app(settings): the wiring, in the order a request meets it."""

from __future__ import annotations

import hashlib

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from app.accounts.routes import routes as account_routes
from app.api.routes import routes as api_routes
from app.city.routes import routes as city_routes
from app.db import database_ctx
from app.hives.routes import routes as hive_routes
from app.home.routes import routes as home_routes
from app.inspections.routes import routes as inspection_routes
from app.keys import (
    export_slots_key,
    metrics_key,
    response_headers_key,
    settings_key,
    static_key,
)
from app.metrics import Metrics
from app.ops.routes import routes as ops_routes
from app.pwa.compression import static_files_middleware
from app.pwa.owner import request_user_tag, user_tag_middleware
from app.pwa.routes import routes as pwa_routes
from app.sensors.maintenance import sensor_upkeep_ctx
from app.sensors.routes import routes as sensor_routes
from app.settings import ROOT, Settings
from app.swarms.routes import routes as swarm_routes
from app.web import formatting
from app.web.assets import StaticAssets
from app.web.auth import current_user_middleware
from app.web.csrf import csrf_middleware
from app.web.errors import error_middleware
from app.web.middlewares import (
    add_response_headers,
    client_address_middleware,
    database_outage_middleware,
    observe_requests_middleware,
    security_headers,
)
from app.web.shared import not_for_shared_answers
from app.web.slots import Slots

TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
SESSION_COOKIE = "cityhive_session"


def create_app(settings: Settings) -> web.Application:
    """The whole app. `settings` must carry a DATABASE_URL and a SECRET_KEY."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            client_address_middleware(settings.trusted_proxies),  # the client behind a proxy
            observe_requests_middleware,  # a request id, one log line and the metrics per request
            error_middleware,  # error pages in both shapes, JSON problems on the API
            database_outage_middleware,  # the database away: 503 at once, not a 500 or a hang
            static_files_middleware(STATIC),  # gzipped styles and scripts; no session
            # None of the three for answers that are the same for everyone: no session, no cookie.
            not_for_shared_answers(session_middleware(session_storage(settings))),
            not_for_shared_answers(csrf_middleware),  # every unsafe request carries the token
            not_for_shared_answers(current_user_middleware),  # request["user"]
            user_tag_middleware,  # whose answer it is; outbox records only as their writer
        ],
    )
    app[settings_key] = settings
    app[static_key] = assets = StaticAssets(STATIC)
    app[metrics_key] = Metrics()
    app[response_headers_key] = security_headers(settings.tile_origin)
    app[export_slots_key] = Slots(total=settings.exports_at_once, per_key=settings.exports_per_user)

    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = assets.url
    env.globals["user_tag"] = request_user_tag  # the shell's data-user
    env.filters["local"] = formatting.local_time(settings.zone)
    env.filters["day"] = formatting.day
    env.filters["datetime"] = formatting.date_time
    env.filters["number"] = formatting.number

    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(sensor_upkeep_ctx)  # offline check, partitions, webhooks
    app.on_response_prepare.append(add_response_headers)

    app.router.add_routes(ops_routes)
    app.router.add_routes(home_routes)
    app.router.add_routes(account_routes)
    app.router.add_routes(hive_routes)
    app.router.add_routes(inspection_routes)  # inspections, harvests, today, exports, calendar
    app.router.add_routes(sensor_routes)  # sensors, readings ingestion, charts, alerts
    app.router.add_routes(swarm_routes)  # public swarm reports and their collectors
    app.router.add_routes(city_routes)  # density map, forage pressure, city statistics
    app.router.add_routes(pwa_routes)  # manifest, service worker, offline page
    app.router.add_routes(api_routes)
    app.router.add_static("/static", STATIC, name="static")
    return app


def session_storage(settings: Settings) -> EncryptedCookieStorage:
    """Sessions live in an encrypted, authenticated cookie (Fernet), keyed from SECRET_KEY.

    Over HTTPS the name carries the `__Host-` prefix: browsers then keep the cookie only if it
    is Secure, for this host alone (no Domain) and every path, so no subdomain and no plain-HTTP
    page can plant or shadow it.
    """
    assert settings.secret_key is not None
    secret = settings.secret_key.get_secret_value().encode()
    return EncryptedCookieStorage(
        hashlib.sha256(b"cityhive-session:" + secret).digest(),  # 32 bytes for Fernet
        cookie_name=f"__Host-{SESSION_COOKIE}" if settings.cookie_secure else SESSION_COOKIE,
        max_age=settings.session_max_age,
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
    )
