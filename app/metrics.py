"""Prometheus metrics: what an operator graphs and alerts on.

Each app has its own registry (so tests can build many apps). Requests are labelled by route
name or URL template, never by raw path, so the number of series stays bounded.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: from a cached fragment to a slow database page.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "cityhive_http_requests_total",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "cityhive_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "cityhive_http_requests_in_flight", "HTTP requests being answered.", registry=registry
        )
        self.pool_connections = Gauge(
            "cityhive_db_pool_connections",
            "Database pool connections by state (in_use, idle).",
            ["state"],
            registry=registry,
        )
        self.pool_size = Gauge(
            "cityhive_db_pool_size", "Connections the pool keeps open.", registry=registry
        )
        self.logins = Counter(
            "cityhive_logins_total",
            "Log-in attempts by outcome (success, failure, throttled).",
            ["outcome"],
            registry=registry,
        )
        self.sensor_readings = Counter(
            "cityhive_sensor_readings_total",
            "Sensor readings received, by outcome (stored, duplicate, refused).",
            ["outcome"],
            registry=registry,
        )
        self.offline_records_synced = Counter(
            "cityhive_offline_records_synced_total",
            "Records recorded offline and synced, by kind.",
            ["kind"],
            registry=registry,
        )
        self.alerts_raised = Counter(
            "cityhive_alerts_raised_total", "Alerts raised, by kind.", ["kind"], registry=registry
        )
        self.push_notifications = Counter(
            "cityhive_push_notifications_total",
            "Web Push deliveries by outcome: sent, retried (to be tried again), failed (given "
            "up), removed (the push service no longer knows the subscription).",
            ["outcome"],
            registry=registry,
        )


def route_label(request: web.Request) -> str:
    """The route's name, else its URL template (/hives/{id}); never the raw path."""
    route = request.match_info.route
    if route.name:
        return route.name
    resource = route.resource
    return resource.canonical if resource is not None else UNMATCHED
