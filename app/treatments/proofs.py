"""Proof of purchase: a photo or PDF of a medicine's invoice or receipt, one per purchase.

A file is kept only if its first bytes say it is what it may be (a PDF, a JPEG, a PNG or a
WebP image), whatever name or type the browser gave it; it is served back with that media type
only, as a download's name the user gave it, never as a page of ours.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import PurchaseProof
from app.web.forms import CONTROL_CHARACTERS
from app.web.i18n import N_

# The signatures files of each kind begin with (a WebP file: RIFF, a size, then WEBP).
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
KIND_LABELS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
}
PROOF_LABEL = N_("Proof of purchase")
NO_FILE = N_("Choose a photo or PDF of the invoice or receipt.")
NOT_A_PROOF = N_("This file is not a photo (JPEG, PNG or WebP) or a PDF.")
TOO_LARGE = N_("This file is larger than %(size)s MB.")


def media_type_of(content: bytes) -> str | None:
    """The kind of file `content` is, by its first bytes; None if not one a proof may be."""
    for signature, media_type in SIGNATURES:
        if content.startswith(signature):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def safe_filename(name: str, media_type: str) -> str:
    """The file's own name without folders or control characters, at most 200 characters,
    "receipt" if nothing is left."""
    base = CONTROL_CHARACTERS.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not base:
        base = "receipt." + KIND_LABELS[media_type].lower()
    return base[-200:]


async def proof_of(db: AsyncSession, purchase_id: int) -> PurchaseProof | None:
    """The purchase's proof, without its content."""
    return await db.scalar(select(PurchaseProof).where(PurchaseProof.purchase_id == purchase_id))


async def content_of(db: AsyncSession, purchase_id: int) -> tuple[str, str, bytes] | None:
    """The proof's media type, name and bytes."""
    row = (
        await db.execute(
            select(PurchaseProof.media_type, PurchaseProof.filename, PurchaseProof.content).where(
                PurchaseProof.purchase_id == purchase_id
            )
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def keep_proof(
    db: AsyncSession, purchase_id: int, media_type: str, filename: str, content: bytes
) -> None:
    """Keep the file as the purchase's proof, in place of any before it."""
    values = {
        "media_type": media_type,
        "filename": filename,
        "content": content,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    await db.execute(
        insert(PurchaseProof)
        .values(purchase_id=purchase_id, **values)
        .on_conflict_do_update(
            index_elements=[PurchaseProof.purchase_id],
            set_={**values, "uploaded_at": func.now()},
        )
    )


async def drop_proof(db: AsyncSession, purchase_id: int) -> None:
    await db.execute(delete(PurchaseProof).where(PurchaseProof.purchase_id == purchase_id))
