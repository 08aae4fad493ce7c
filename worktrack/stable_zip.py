"""Office files (PPTX, XLSX: zip archives) made byte-for-byte reproducible.

The writers stamp the wall-clock time into every zip entry and into docProps/core.xml (created,
modified), also inside the chart workbooks a PPTX embeds. A closed month's meeting pack must come
out identical whenever it is regenerated, so every such time is set to the pack's own date.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zipfile

logger = logging.getLogger(__name__)

_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def stable_zip(data: bytes, when: dt.date) -> bytes:
    """The same archive with every entry dated `when` (00:00) and core.xml's times set to it;
    embedded Office files are treated the same way, entries keep their order and compression."""
    stamp = (when.year, when.month, when.day, 0, 0, 0)
    iso = f"{when.isoformat()}T00:00:00Z".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith("docProps/core.xml"):
                content = _CORE_TIMES.sub(lambda m: m.group(1) + iso + m.group(3), content)
            elif info.filename.endswith((".xlsx", ".pptx", ".docx")):
                content = stable_zip(content, when)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            entry.create_system = 0
            target.writestr(entry, content)
    return out.getvalue()
