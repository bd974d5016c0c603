"""create_app(settings): the wiring, in the order a request meets it."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from markupsafe import Markup

from app.accounts.routes import routes as account_routes
from app.apiaries.routes import routes as apiary_routes
from app.assets import StaticAssets
from app.city.routes import routes as city_routes
from app.colonies.routes import routes as colony_routes
from app.db import database_ctx
from app.hives.routes import routes as hive_routes
from app.inspections.routes import routes as inspection_routes
from app.keys import (
    batch_cpu_key,
    batch_slots_key,
    deliveries_key,
    export_slots_key,
    ingest_pool_key,
    metrics_key,
    response_headers_key,
    settings_key,
    static_key,
    webhook_client_key,
)
from app.metrics import Metrics
from app.ops.routes import routes as ops_routes
from app.pages.notifications import push_rounds_ctx
from app.pages.routes import routes as page_routes
from app.push.delivery import push_ctx
from app.push.routes import routes as push_routes
from app.push.views import server_key
from app.pwa.compression import static_files_middleware
from app.pwa.owner import request_user_tag, user_tag_middleware
from app.pwa.routes import routes as pwa_routes
from app.sensors.ingest import BATCHES_AT_ONCE, BATCHES_PARSED_AT_ONCE, ingest_pool
from app.sensors.maintenance import sensor_upkeep_ctx
from app.sensors.routes import routes as sensor_routes
from app.sensors.webhooks import client_session, finish_deliveries
from app.settings import ROOT, Settings
from app.slots import Slots
from app.swarms.routes import routes as swarm_routes
from app.treatments.routes import routes as treatment_routes
from app.web import formatting, i18n
from app.web.auth import current_user_middleware
from app.web.compression import compression_middleware
from app.web.context import csrf_field
from app.web.csrf import csrf_middleware
from app.web.database import request_connection_middleware
from app.web.errors import error_middleware
from app.web.middlewares import (
    add_response_headers,
    client_address_middleware,
    database_outage_middleware,
    observe_requests_middleware,
    security_headers,
)
from app.web.shared import not_for_shared_answers

TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
SESSION_COOKIE = "cityhive_session"


class CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per process, however many apps it makes: a server makes one,
    the tests one per test (compiling every page's templates again took about a second a test).
    Keyed by name and source checksum, so an edited template is compiled again."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if (code := self.compiled.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()
TEMPLATE_OPTIONS: dict[str, Any] = {
    "loader": jinja2.FileSystemLoader(TEMPLATES),
    "autoescape": jinja2.select_autoescape(default=True),
    "undefined": jinja2.StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "bytecode_cache": COMPILED_TEMPLATES,
    # No filter is run while compiling: `{{ 10000|number }}` depends on the reader's language.
    "optimized": False,
    "extensions": ["jinja2.ext.i18n"],  # {% trans %} and _(), in the request's language
}


def configure_templates(env: jinja2.Environment, settings: Settings, assets: StaticAssets) -> None:
    """What every template may use (bench/today.py renders with the same environment).

    Outside development (TEMPLATES_RELOAD unset) a template is compiled once and then served
    from the environment's cache: the loader no longer asks the disk on every render whether
    its file, and every file it extends or includes, has changed."""
    env.auto_reload = settings.templates_reload
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.translate, ngettext=i18n.plural, newstyle=True
    )
    env.policies["ext.i18n.trimmed"] = True  # a {% trans %} block's line breaks are spaces
    env.globals["language"] = i18n.language  # <html lang>, the chooser
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["static"] = assets.url
    env.globals["user_tag"] = request_user_tag  # the shell's data-user
    env.globals["csrf_field"] = csrf_field  # the hidden _csrf input of every form
    env.globals["push_server_key"] = server_key  # what "Notify me on this phone" subscribes with
    env.globals["script_texts"] = per_language(env, "partials/pwa/texts.html")
    env.filters.update(formatting.filters(settings.zone))  # |datetime |date |day |ago |number |kg


def per_language(env: jinja2.Environment, name: str) -> Callable[[], Markup]:
    """A template that depends on the reader's language alone, rendered once per language.

    The scripts' texts are about a hundred lookups on every page, a third of what rendering a
    small page took. In development (TEMPLATES_RELOAD) it is rendered every time, so that an
    edit shows at once."""
    rendered: dict[str, Markup] = {}

    def render() -> Markup:
        language = i18n.language()
        if env.auto_reload or language not in rendered:
            rendered[language] = Markup(env.get_template(name).render())  # noqa: S704 - autoescaped
        return rendered[language]

    return render


def create_app(settings: Settings) -> web.Application:
    """The whole app. `settings` must carry a DATABASE_URL and a SECRET_KEY."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            client_address_middleware(settings.trusted_proxies),  # the client behind a proxy
            observe_requests_middleware,  # a request id, one log line and the metrics per request
            compression_middleware,  # pages and JSON brotli or gzip, once, error pages too
            error_middleware,  # error pages in both shapes, JSON problems on the API
            database_outage_middleware,  # the database away: 503 at once, not a 500 or a hang
            static_files_middleware(STATIC),  # gzipped styles and scripts; no session
            request_connection_middleware,  # one pooled connection per request, at its first query
            # None of the three for answers that are the same for everyone: no session, no cookie.
            not_for_shared_answers(session_middleware(session_storage(settings))),
            not_for_shared_answers(csrf_middleware),  # every unsafe request carries the token
            not_for_shared_answers(current_user_middleware),  # request["user"]
            i18n.locale_middleware,  # the reader's language, for _() and the formats below
            user_tag_middleware,  # whose answer it is; outbox records only as their writer
        ],
    )
    app[settings_key] = settings
    app[static_key] = assets = StaticAssets(STATIC)
    app[metrics_key] = Metrics()
    app[response_headers_key] = security_headers(settings.tile_origin)
    app[export_slots_key] = Slots(total=settings.exports_at_once, per_key=settings.exports_per_user)
    app[batch_slots_key] = Slots(total=BATCHES_AT_ONCE, per_key=1)  # per key: one in flight
    app[batch_cpu_key] = asyncio.Semaphore(BATCHES_PARSED_AT_ONCE)

    configure_templates(aiohttp_jinja2.setup(app, **TEMPLATE_OPTIONS), settings, assets)

    # Opened at start-up in this order, closed at shutdown in the reverse one.
    app.cleanup_ctx.append(database_ctx)  # the SQLAlchemy pool: app[db_key], app[engine_key]
    app.cleanup_ctx.append(ingest_pool_ctx)  # the second pool, asyncpg, for readings batches
    app.cleanup_ctx.append(webhook_client_ctx)  # alert webhooks and their deliveries in flight
    app.cleanup_ctx.append(sensor_upkeep_ctx)  # offline check and partitions, every few minutes
    app.cleanup_ctx.append(push_ctx)  # the VAPID key and the client that posts to push services
    app.cleanup_ctx.append(push_rounds_ctx)  # notifications gathered and sent, every few seconds
    app.on_response_prepare.append(add_response_headers)

    app.router.add_routes(ops_routes)
    app.router.add_routes(page_routes)  # Today, a hive's page, exports, the API's document
    app.router.add_routes(account_routes)
    app.router.add_routes(hive_routes)  # hives, their map and GeoJSON, their JSON API
    app.router.add_routes(apiary_routes)  # apiaries, their members and invitations
    app.router.add_routes(inspection_routes)  # inspections, harvests, calendar, their API
    app.router.add_routes(treatment_routes)  # medicines, treatments, the register, their API
    app.router.add_routes(colony_routes)  # colonies, queens, their events and family tree
    app.router.add_routes(sensor_routes)  # sensors, readings ingestion, charts, alerts
    app.router.add_routes(swarm_routes)  # public swarm reports and their collectors
    app.router.add_routes(push_routes)  # a beekeeper's devices and what each is told
    app.router.add_routes(city_routes)  # density map, forage pressure, city statistics
    app.router.add_routes(pwa_routes)  # manifest, service worker, offline page
    app.router.add_static("/static", STATIC, name="static")
    return app


async def ingest_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """Readings ingestion's own asyncpg pool (app/sensors/ingest.py says why it has one)."""
    app[ingest_pool_key] = pool = await ingest_pool(app[settings_key].async_database_url)
    yield
    await pool.close()


async def webhook_client_ctx(app: web.Application) -> AsyncIterator[None]:
    """The client that posts alert webhooks; at shutdown, deliveries in flight get a moment."""
    app[webhook_client_key] = client = client_session(app[settings_key])
    app[deliveries_key] = set()
    yield
    await finish_deliveries(app)
    await client.close()


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
