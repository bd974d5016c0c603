"""A push service on this machine, for tests (there is none reachable from here).

It takes RFC 8030 requests as a browser vendor's would: it checks the VAPID JWT (RFC 8292) of
the Authorization header against the server's public key, reads TTL and Urgency, and decrypts
the aes128gcm body (RFC 8291) with the browser's private key and auth secret, as the browser
would (http-ece and cryptography). Each "browser" has its own endpoint and keys; a test may tell
the service how to answer the next messages for one of them (410 Gone, 503 ...).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Browser:
    """A browser's side of one subscription: its endpoint and its keys."""

    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def form(self) -> dict[str, str]:
        """What static/js/push.js posts for this subscription."""
        return {"endpoint": self.endpoint, "p256dh": self.p256dh, "auth": b64url(self.auth_secret)}


@dataclass
class Received:
    browser: str
    payload: dict[str, Any]
    ttl: int
    urgency: str
    claims: dict[str, Any]
    vapid_key: str


@dataclass
class PushService:
    origin: str = ""
    browsers: dict[str, Browser] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # The next answers, per browser: a status, or a status with headers.
    answers: dict[str, list[int | tuple[int, dict[str, str]]]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # why requests were refused
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set at each message taken

    def browser(self, name: str) -> Browser:
        self.browsers[name] = browser = Browser(name, f"{self.origin}/push/{name}")
        return browser

    def to(self, name: str) -> list[dict[str, Any]]:
        return [message.payload for message in self.received if message.browser == name]

    def refuse(self, why: str) -> web.Response:
        self.refused.append(why)
        return web.Response(status=400, text=why)

    async def accept(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        browser = self.browsers.get(name)
        if browser is None:
            return web.Response(status=404)
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        parts = dict(part.split("=", 1) for part in credentials.split(",") if "=" in part)
        if scheme.lower() != "vapid" or not {"t", "k"} <= parts.keys():
            return self.refuse("no VAPID authorization")
        try:
            claims = jwt.decode(parts["t"], parts["k"])
        except Exception:
            return self.refuse("VAPID signature does not verify")
        if claims.get("aud") != self.origin:
            return self.refuse(f"VAPID audience {claims.get('aud')} is not {self.origin}")
        if not time.time() < claims["exp"] <= time.time() + 24 * 3600:
            return self.refuse("VAPID token expired or good for more than a day")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return self.refuse("VAPID subject is no contact")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self.refuse("not aes128gcm")
        if "TTL" not in request.headers:
            return self.refuse("no TTL")
        body = http_ece.decrypt(
            await request.read(),
            private_key=browser.private_key,
            auth_secret=browser.auth_secret,
            version="aes128gcm",
        )
        answer = (self.answers.get(name) or [201]).pop(0)
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        if status == 201:
            self.received.append(
                Received(
                    browser=name,
                    payload=json.loads(body),
                    ttl=int(request.headers["TTL"]),
                    urgency=request.headers.get("Urgency", "normal"),
                    claims=claims,
                    vapid_key=parts["k"],
                )
            )
            self.arrived.set()
        return web.Response(status=status, headers=headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/push/{name}", self.accept)
        return app
