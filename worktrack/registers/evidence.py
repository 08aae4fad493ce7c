"""Evidence (佐证材料) on a register entry: photos of a finished retrofit, a scanned donation receipt.

JPEG, PNG or PDF, at most MAX_EVIDENCE_BYTES, the type told from the content (magic bytes), never
from the file name. An attachment belongs to an entry (`entry_key`), so it stays with the household,
person or donation when the register is filed again. The bytes live beside the database as
raw/<sha256> (`store.raw_dir`); the store keeps the name, type, size and hash.
"""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import PurePath
from typing import Any

from worktrack.registers.identity import ID_NUMBER_PATTERN, mask_id_number

logger = logging.getLogger(__name__)

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
THUMBNAIL_PIXELS = 240
# Magic bytes at the start of the file -> media type.
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))


def media_type_of(data: bytes) -> str | None:
    """image/jpeg, image/png or application/pdf from the first bytes; None for anything else."""
    head = bytes(data[:16])
    return next((media for magic, media in _SIGNATURES if head.startswith(magic)), None)


def evidence_problem(data: bytes, max_bytes: int = MAX_EVIDENCE_BYTES) -> str | None:
    """Why a file cannot be attached (Chinese, with what to do), or None when it can."""
    if not data:
        return "文件是空的，请重新选择。"
    if len(data) > max_bytes:
        return (f"文件有 {len(data) / 1024 / 1024:.1f} MB，超过 {max_bytes // 1024 // 1024} MB 的上限。"
                "请压缩照片或分页扫描后再上传。")
    if media_type_of(data) is None:
        return "只能附 JPEG、PNG 照片或 PDF 扫描件；这个文件的内容不是其中任何一种（与文件名的后缀无关）。"
    return None


def safe_file_name(name: str) -> str:
    """The name shown for an attachment: no directories, no full ID number (masked), at most 120 characters."""
    base = PurePath((name or "").replace("\\", "/")).name.strip() or "file"
    base = ID_NUMBER_PATTERN.sub(lambda m: mask_id_number(m.group().upper()), base)
    base = re.sub(r"[\x00-\x1f\x7f]", "", base)
    return base[-120:]


def entry_key(kind: str, row: Any) -> str:
    """The register entry a row records: its household/person hash, with the date for a help; a receipt number."""
    if kind == "donation_register":
        fields = row.fields if isinstance(row.fields, dict) else json.loads(row.fields or "{}")
        return f"receipt:{fields.get('receipt', '')}"
    if kind == "help_register":
        day = row.event_date.isoformat() if row.event_date is not None and row.event_date == row.event_date else ""
        return f"{row.person_key}|{day}"
    return str(row.person_key)


def thumbnail(data: bytes, media_type: str, pixels: int = THUMBNAIL_PIXELS) -> bytes | None:
    """A small PNG of an image attachment (None for a PDF, or an image that cannot be decoded)."""
    if media_type not in ("image/jpeg", "image/png"):
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((pixels, pixels))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        logger.warning("attachment of %d bytes announced as %s could not be decoded for a thumbnail", len(data),
                       media_type)
        return None


def attach(store: Any, user: Any, kind: str, row: Any, data: bytes, file_name: str) -> tuple[int | None, str | None]:
    """Attach a file to the entry of a register row as `user`: (attachment id, None) or (None, why not).

    Only a user who may file the row's unit's registers may attach (a community its own rows, an
    administrator any); the type and size are checked from the bytes before anything is written.
    """
    from worktrack.auth import can_upload

    if not can_upload(user, row.reporting_unit):
        return None, f"只有{row.reporting_unit}（登记单位）可以为这一行附佐证材料。"
    problem = evidence_problem(data)
    if problem is not None:
        return None, problem
    attachment_id, _added = store.add_attachment(kind=kind, unit=row.reporting_unit, row_key=entry_key(kind, row),
                                                 data=bytes(data), file_name=safe_file_name(file_name),
                                                 media_type=media_type_of(data), actor=user.username)
    return attachment_id, None


def row_attachments(attachments: Any, kind: str, row: Any) -> Any:
    """The attachments (store.attachments rows) of the entry a register row records."""
    if not len(attachments):
        return attachments
    key = entry_key(kind, row)
    return attachments[(attachments["kind"] == kind) & (attachments["reporting_unit"] == row.reporting_unit)
                       & (attachments["row_key"] == key)]
