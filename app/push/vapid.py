"""The server's VAPID key (RFC 8292): push services see that every message for a subscription
comes from the server the browser subscribed with, by a JWT signed with this key.

VAPID_PRIVATE_KEY, or a key that follows from SECRET_KEY (HKDF-SHA256, then the P-256 scalar
it names), so it is made once like the SECRET_KEY itself and every replica that shares the
SECRET_KEY signs with the same key, as it must: browsers subscribed with its public half, and a
push service refuses messages signed with another (docs/operations.md says how to rotate it).
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from py_vapid import Vapid02
from py_vapid.utils import b64urlencode
from yarl import URL

from app.settings import Settings

TOKEN_LIFETIME_SECONDS = 12 * 3600  # RFC 8292 allows at most 24 hours
# The order of the P-256 group: a private key is a number from 1 to P256_ORDER - 1.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def vapid_key(settings: Settings) -> Vapid02:
    """The key from VAPID_PRIVATE_KEY (PEM, or base64url DER or raw), else from SECRET_KEY."""
    if settings.vapid_private_key is not None:
        given = settings.vapid_private_key.get_secret_value().strip()
        if given.startswith("-----BEGIN"):
            return Vapid02.from_pem(given.encode())
        return Vapid02.from_string(given)
    assert settings.secret_key is not None
    return key_from_secret(settings.secret_key.get_secret_value())


def key_from_secret(secret: str) -> Vapid02:
    """The P-256 key SECRET_KEY stands for: 48 bytes from HKDF reduced into the group's range
    (16 bytes more than the order has, so every key is about equally likely)."""
    material = HKDF(
        algorithm=hashes.SHA256(), length=48, salt=None, info=b"cityhive-vapid-key"
    ).derive(secret.encode())
    scalar = int.from_bytes(material, "big") % (P256_ORDER - 1) + 1
    return Vapid02(private_key=ec.derive_private_key(scalar, ec.SECP256R1()))


def application_server_key(key: Vapid02) -> str:
    """The public key as browsers want it for PushManager.subscribe (base64url, X9.62)."""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return str(b64urlencode(raw))


def authorization(key: Vapid02, endpoint: str, subject: str) -> dict[str, str]:
    """The Authorization header for a message to `endpoint`: a JWT for its push service's
    origin, from `subject` (who to contact), good for TOKEN_LIFETIME_SECONDS."""
    origin = URL(endpoint).origin()
    claims = {
        "aud": str(origin),
        "exp": int(time.time()) + TOKEN_LIFETIME_SECONDS,
        "sub": subject,
    }
    headers: dict[str, str] = key.sign(claims)
    return headers
