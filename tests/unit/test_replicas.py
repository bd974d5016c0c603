"""Several app processes in front of one database: any replica serves any request.

A session is an encrypted cookie every replica reads with the shared SECRET_KEY, naming a
session row in the database (which log-out and a password change delete), so two app instances
here behave as one. docker-compose.yml runs two replicas behind nginx (deploy/nginx.conf); both
files are checked against what the replicas need.
"""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from app.main import create_app
from app.settings import ROOT
from tests.unit.conftest import PASSWORD, csrf_token, log_in

COMPOSE = ROOT / "docker-compose.yml"
NGINX = ROOT / "deploy" / "nginx.conf"


async def signed_in(client) -> bool:
    return (await client.get("/profile", allow_redirects=False)).status == 200


def cookies_of(client):
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))


async def test_a_session_begun_on_one_replica_is_good_on_another(aiohttp_client, settings, user):
    one = await aiohttp_client(create_app(settings))
    another = await aiohttp_client(create_app(settings))
    await log_in(one, user.email)
    another.session.cookie_jar.update_cookies(cookies_of(one))
    assert await signed_in(another)
    token = await csrf_token(another, "/profile")  # the same session, so the same token
    response = await another.post(
        "/profile", data={"name": "Renamed", "email": user.email, "_csrf": token}
    )
    assert response.status == 200
    assert "Your profile was saved." in await response.text()


async def test_a_password_changed_on_one_replica_ends_sessions_on_another(
    aiohttp_client, settings, user
):
    one = await aiohttp_client(create_app(settings))
    another = await aiohttp_client(create_app(settings))
    await log_in(one, user.email)
    await log_in(another, user.email)
    token = await csrf_token(one, "/profile")
    changed = await one.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "_csrf": token,
        },
        allow_redirects=False,
    )
    assert changed.status == 303
    assert await signed_in(one)
    assert not await signed_in(another)


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def app_replicas(services: dict) -> dict[str, dict]:
    return {
        name: service
        for name, service in services.items()
        if service.get("command") == ["python", "-m", "app", "serve"]
    }


def test_the_compose_file_matches_the_compose_specification():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_two_replicas_alike_after_one_migration():
    services = compose()["services"]
    replicas = app_replicas(services)
    assert len(replicas) >= 2
    environments = [replica["environment"] for replica in replicas.values()]
    assert all(env == environments[0] for env in environments)  # one SECRET_KEY, one database
    assert "SECRET_KEY" in environments[0]
    assert "DATABASE_URL" in environments[0]
    for replica in replicas.values():
        assert "ports" not in replica  # reached through nginx only
        assert replica["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "python -m app migrate" in " ".join(services["migrate"]["command"])


def test_nginx_spreads_requests_over_every_replica_and_is_the_trusted_proxy():
    document = compose()
    replicas = app_replicas(document["services"])
    upstream = re.search(r"upstream cityhive \{(.*?)\}", NGINX.read_text(), re.S)
    assert upstream
    servers = re.findall(r"^\s*server ([\w-]+):8080\b", upstream.group(1), re.M)
    assert sorted(servers) == sorted(replicas)
    nginx = document["services"]["nginx"]
    assert nginx["ports"] == ["8080:8080"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    address = nginx["networks"]["default"]["ipv4_address"]
    for replica in replicas.values():
        assert replica["environment"]["TRUSTED_PROXIES"] == f"{address}/32"
