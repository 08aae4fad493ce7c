"""Evidence on register entries: type by content, size limit, raw/<sha256> beside the database, backups."""

from __future__ import annotations

import hashlib
import io
import json
import stat

import pytest
from PIL import Image

from tests.apptest import dashboard, texts
from tests.test_registers import FIXTURES, KEY
from worktrack.registers import read_register
from worktrack.registers.evidence import (
    MAX_EVIDENCE_BYTES,
    attach,
    entry_key,
    evidence_problem,
    media_type_of,
    row_attachments,
    safe_file_name,
    thumbnail,
)
from worktrack.store import Store, StoreCorrupt, StoreRefused, put_raw, raw_dir

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(color=(200, 30, 30), size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 120, 20)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def filed(db_path, plan) -> Store:
    store = Store(db_path)
    data = (FIXTURES / "retrofit_2023-06.csv").read_bytes()
    assert store.submit_register(read_register(data, "r.csv", plan, "retrofit_register", key=KEY), data,
                                 submitted_by="tianjian").accepted
    return store


def first_row(store: Store):
    return next(store.register_rows("retrofit_register").itertuples(index=False))


@pytest.mark.parametrize("data, media", [(png(), "image/png"), (jpeg(), "image/jpeg"), (PDF, "application/pdf"),
                                         (b"GIF89a....", None), (b"<html>%PDF-</html>", None), (b"", None)])
def test_the_type_is_told_from_the_content(data, media):
    assert media_type_of(data) == media
    assert (evidence_problem(data) is None) == (media is not None)


def test_a_file_named_like_a_photo_that_is_not_one_is_refused(filed, accounts):
    attachment, problem = attach(filed, accounts["tianjian"], "retrofit_register", first_row(filed),
                                 b"MZ\x90\x00 not a photo", "完工照片.jpg")
    assert attachment is None and "内容不是其中任何一种" in problem
    assert filed.attachments().empty and not raw_dir(filed.path).exists()


def test_a_file_over_the_limit_is_refused():
    assert "超过 10 MB" in evidence_problem(b"%PDF-" + b"0" * MAX_EVIDENCE_BYTES)


def test_an_attachment_is_stored_content_addressed_private_and_audited(filed, accounts):
    data = png()
    attachment, problem = attach(filed, accounts["tianjian"], "retrofit_register", first_row(filed), data, "完工.png")
    assert problem is None
    sha = hashlib.sha256(data).hexdigest()
    path = raw_dir(filed.path) / sha
    assert path.read_bytes() == data and path.parent == filed.path.parent / "raw"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    (row,) = filed.attachments().itertuples(index=False)
    assert (row.attachment_id, row.sha256, row.media_type, row.size, row.added_by) == \
        (attachment, sha, "image/png", len(data), "tianjian")
    assert list(filed.audit_log(action="register.attach")["new_value"]) == [sha]
    assert filed.attachment_bytes(sha) == data
    # the same bytes again: nothing new
    again, _ = attach(filed, accounts["tianjian"], "retrofit_register", first_row(filed), data, "again.png")
    assert again == attachment and len(filed.attachments()) == 1


def test_raw_files_are_never_overwritten_and_a_damaged_one_is_reported(tmp_path):
    directory = tmp_path / "raw"
    sha = put_raw(directory, b"%PDF-1 first")
    assert put_raw(directory, b"%PDF-1 first") == sha
    (directory / sha).chmod(0o600)
    (directory / sha).write_bytes(b"tampered")
    with pytest.raises(StoreCorrupt):
        put_raw(directory, b"%PDF-1 first")
    assert (directory / sha).read_bytes() == b"tampered"  # reported, not replaced
    assert sorted(p.name for p in directory.iterdir()) == [sha]  # no temporary file left behind


def test_an_attachment_stays_with_its_household_across_versions(filed, accounts, plan):
    attach(filed, accounts["tianjian"], "retrofit_register", first_row(filed), PDF, "验收单.pdf")
    data = (FIXTURES / "retrofit_2023-06.csv").read_bytes() + "天剑社区,2023-06,天剑路9栋,王五,430103194203017893," \
        "特困,扶手,100,湘居装饰,2023-06-01,2023-06-02,\n".encode()
    assert filed.submit_register(read_register(data, "r2.csv", plan, "retrofit_register", key=KEY), data,
                                 submitted_by="tianjian").version == 2
    row = first_row(filed)
    assert len(row_attachments(filed.attachments(), "retrofit_register", row)) == 1
    assert entry_key("retrofit_register", row) == row.person_key


def test_only_the_filing_unit_attaches(filed, accounts):
    for who in ("xiajiachong", "leader"):
        attachment, problem = attach(filed, accounts[who], "retrofit_register", first_row(filed), PDF, "x.pdf")
        assert attachment is None and "天剑社区" in problem
    assert filed.attachments().empty


def test_a_file_name_never_keeps_a_full_id_number():
    assert safe_file_name("C:\\照片\\430103194805061234-完工.jpg") == "4301**********1234-完工.jpg"


def test_thumbnails_are_small_pngs_and_pdfs_have_none():
    small = thumbnail(png(size=(1600, 1200)), "image/png")
    with Image.open(io.BytesIO(small)) as image:
        assert max(image.size) <= 240 and image.format == "PNG"
    assert thumbnail(PDF, "application/pdf") is None


def test_backups_carry_attachments_with_hashes_and_restore_verifies_them(filed, accounts, tmp_path):
    data = jpeg()
    attach(filed, accounts["tianjian"], "retrofit_register", first_row(filed), data, "照片.jpg")
    sha = hashlib.sha256(data).hexdigest()
    manifest = filed.backup(tmp_path / "backup")
    assert manifest["files"][f"raw/{sha}"] == sha and manifest["attachment_files"] == 1
    restored = Store.restore(tmp_path / "backup", tmp_path / "elsewhere" / "restored.duckdb")
    assert restored.attachment_bytes(sha) == data
    assert (tmp_path / "elsewhere" / "raw" / sha).is_file()
    # a tampered attachment in a backup: nothing restored
    (tmp_path / "backup" / "raw" / sha).write_bytes(b"\xff\xd8\xff tampered")
    with pytest.raises(StoreRefused):
        Store.restore(tmp_path / "backup", tmp_path / "third" / "restored.duckdb")
    assert not (tmp_path / "third" / "restored.duckdb").exists()
    assert json.loads((tmp_path / "backup" / "manifest.json").read_text())["files"][f"raw/{sha}"] == sha


def test_the_register_page_shows_thumbnails_and_the_unit_attaches(filed, accounts):
    attach(filed, accounts["tianjian"], "retrofit_register", first_row(filed), png(), "完工.png")
    attach(filed, accounts["tianjian"], "retrofit_register", first_row(filed), PDF, "验收单.pdf")
    at = dashboard(accounts["leader"], "pages/registers.py")
    assert len(at.get("image")) == 1 and "PDF 文件: 验收单.pdf" in texts(at)
    assert not [u for u in at.get("file_uploader") if u.key.startswith("evidence_file_")]  # a leader attaches nothing
    at = dashboard(accounts["tianjian"], "pages/registers.py")
    uploader = next(u for u in at.get("file_uploader") if u.key.startswith("evidence_file_"))
    uploader.set_value(("照片.jpg", jpeg(), "image/jpeg")).run()
    at.button(key="evidence_add").click().run()
    assert not at.exception and len(filed.attachments()) == 3
