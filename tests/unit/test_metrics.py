"""/metrics: the Prometheus text format, bounded labels, and only for allowed addresses."""

from __future__ import annotations

from ipaddress import ip_network

from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.unit.conftest import PASSWORD, csrf_token


async def scrape(client) -> dict[str, list]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    families = text_string_to_metric_families(await response.text())
    return {family.name: family.samples for family in families}


def value(samples, name: str, **labels: str) -> float:
    matching = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    return sum(matching)


async def test_requests_are_counted_by_route_name_not_raw_path(client):
    await client.get("/")
    await client.get("/")
    await client.get("/no-such-page-1")
    await client.get("/no-such-page-2")
    metrics = await scrape(client)
    requests = metrics["cityhive_http_requests"]
    assert value(requests, "cityhive_http_requests_total", route="home", status="200") == 2
    assert value(requests, "cityhive_http_requests_total", route="unmatched", status="404") == 2
    routes = {sample.labels["route"] for sample in requests}
    assert not any(route.startswith("/no-such-page") for route in routes)
    latency = metrics["cityhive_http_request_duration_seconds"]
    assert value(latency, "cityhive_http_request_duration_seconds_count", route="home") == 2


async def test_pool_and_in_flight_are_reported(client):
    await client.get("/city/stats")  # a page that queries the database through the pool
    metrics = await scrape(client)
    in_flight = metrics["cityhive_http_requests_in_flight"]
    assert value(in_flight, "cityhive_http_requests_in_flight") == 1  # the scrape itself
    pool = metrics["cityhive_db_pool_connections"]
    assert value(pool, "cityhive_db_pool_connections", state="idle") >= 1
    assert value(pool, "cityhive_db_pool_connections", state="in_use") == 0
    assert value(metrics["cityhive_db_pool_size"], "cityhive_db_pool_size") >= 1


async def test_log_ins_are_counted_by_outcome(client, user, settings):
    for password in ("wrong password!", PASSWORD):
        token = await csrf_token(client)
        await client.post(
            "/login", data={"email": user.email, "password": password, "_csrf": token}
        )
    logins = (await scrape(client))["cityhive_logins"]
    assert value(logins, "cityhive_logins_total", outcome="failure") == 1
    assert value(logins, "cityhive_logins_total", outcome="success") == 1


async def test_feature_counters_are_exposed_for_dashboards(client):
    metrics = await scrape(client)
    for name in ("cityhive_sensor_readings", "cityhive_offline_records_synced"):
        assert name in metrics
    assert "cityhive_alerts_raised" in metrics


async def test_metrics_are_refused_to_other_addresses(aiohttp_client, settings):
    elsewhere = settings.model_copy(
        update={"metrics_allowed_networks": [ip_network("10.20.0.0/16")]}
    )
    client = await aiohttp_client(create_app(elsewhere))
    response = await client.get("/metrics")
    assert response.status == 403
    assert "cityhive_http_requests_total" not in await response.text()


def test_allowed_networks_come_comma_separated_from_the_environment(monkeypatch):
    from app.settings import Settings

    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8, 192.168.1.7/32")
    assert Settings().metrics_allowed_networks == [
        ip_network("10.0.0.0/8"),
        ip_network("192.168.1.7/32"),
    ]
