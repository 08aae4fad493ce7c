"""Personal data in registers: ID numbers checked, hashed with a key kept outside the database, masked.

A full ID number is never stored: rows keep a keyed hash (HMAC-SHA256) for telling the same person
apart from another, and a masked form (4301**********1234) for display. The key lives in its own
file (the `register_key` setting), created on first use with owner-only permissions, so a copy of
the database or of a backup alone cannot be used to test guessed ID numbers against the hashes.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
import re
import secrets
import unicodedata
from hashlib import sha256
from pathlib import Path

logger = logging.getLogger(__name__)

KEY_FILE_MODE = 0o600
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
# 18 characters that could be an ID number: what a scan for leaked ID numbers looks for.
ID_NUMBER_PATTERN = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


def normalise_id_number(text: str) -> str:
    """An ID number as typed -> its canonical form (half-width, no spaces, upper-case X)."""
    return re.sub(r"[\s\-]+", "", unicodedata.normalize("NFKC", text)).upper()


def id_number_problem(id_number: str) -> str | None:
    """Why a (normalised) ID number is not valid, in Chinese; None when it is valid."""
    if len(id_number) != 18:
        return f"应为 18 位，这里是 {len(id_number)} 位"
    if not _ID_SHAPE.match(id_number):
        return "前 17 位应为数字，最后一位为数字或 X"
    try:
        born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return f"第 7–14 位的出生日期 {id_number[6:14]} 不是有效日期"
    if not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return f"第 7–14 位的出生日期 {id_number[6:14]} 不合理"
    total = sum(int(digit) * weight for digit, weight in zip(id_number[:17], _WEIGHTS, strict=True))
    if _CHECK_CHARACTERS[total % 11] != id_number[17]:
        return "校验位不对（最后一位与前 17 位算出的不符），多半是某一位抄错了"
    return None


def mask_id_number(id_number: str) -> str:
    """4301**********1234: the region's first four and the last four characters."""
    if len(id_number) < 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_name(name: str) -> str:
    """张*明, 李*, 欧阳**: the first character, the last for names of three or more, stars between."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def load_key(path: str | os.PathLike) -> bytes:
    """The hashing key from its file, creating the file (0600) with a random key on first use."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        except FileExistsError:
            return load_key(path)  # another process created it first: use theirs
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key + "\n")
        logger.warning("created the register hashing key %s; keep it with the backups", path)
        return bytes.fromhex(key)
    if path.stat().st_mode & 0o077:
        os.chmod(path, KEY_FILE_MODE)
        logger.warning("register hashing key %s was readable by others; made it owner-only", path)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"台账密钥文件“{path}”内容无效（应为十六进制字符串）") from None
    if len(key) < 16:
        raise ValueError(f"台账密钥文件“{path}”太短（至少 16 字节）")
    return key


def person_key(id_number: str, key: bytes) -> str:
    """The keyed hash of a normalised ID number: equal for the same person, useless without the key."""
    return hmac.new(key, id_number.encode("ascii"), sha256).hexdigest()
