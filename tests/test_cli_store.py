"""`python -m worktrack` store commands: ingest, uploads, rollback, lock, unlock, backup, restore.

Most run in-process through `worktrack.cli.main` for speed; the exit-status and no-traceback
promises are also checked through a real subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PLAN_PATH, ROOT
from tests.test_store import csv_bytes, hold_database
from worktrack.cli import main
from worktrack.store import Store

UNIT = "天剑社区"
FINDING_KEYS = {"code", "row", "column", "value", "message"}
FIXTURES = ROOT / "tests" / "fixtures" / "intake"


@pytest.fixture
def run(db_path, capsys, monkeypatch):
    """Run the CLI in-process; return (exit status, stdout, stderr). The users file is the test's own:
    backup and restore copy it."""
    monkeypatch.setenv("WORKTRACK_USERS", str(db_path.parent / "accounts" / "users.yaml"))

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", str(db_path), *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture
def files(tmp_path, plan):
    """Report files on disk: clean ones, a changed one, one with an error, one with warnings."""
    folder = tmp_path / "in"
    folder.mkdir()

    def write(name: str, data: bytes) -> str:
        (folder / name).write_bytes(data)
        return str(folder / name)

    return {
        "may": write("tianjian-2023-05.csv", csv_bytes(plan, UNIT, "2023-05", 1)),
        "may_v2": write("tianjian-2023-05-v2.csv", csv_bytes(plan, UNIT, "2023-05", 1, status="已完成")),
        "june": write("tianjian-2023-06.csv", csv_bytes(plan, UNIT, "2023-06", 1)),
        "tuxin": write("tuxin-2023-05.csv", csv_bytes(plan, "涂新社区", "2023-05", 1)),
        "bad": write("bad.csv", csv_bytes(plan, UNIT, "2023-07", 1).replace(b",1,", b",abc,", 1)),
        "large": write("large.csv", csv_bytes(plan, UNIT, "2023-08", 100000)),
    }


def ingest_json(run, *argv: str) -> tuple[int, dict]:
    code, out, err = run("ingest", "--json", *argv)
    return code, json.loads(out)


def uploads_json(run, *argv: str) -> list[dict]:
    code, out, _ = run("uploads", "--json", *argv)
    assert code == 0
    return json.loads(out)["uploads"]


def assert_contract(entry: dict) -> None:
    """The pinned `ingest --json` shape: these keys, these types (more keys are allowed)."""
    assert {"file", "accepted", "version", "errors", "warnings", "normalised"} <= set(entry)
    assert isinstance(entry["accepted"], bool)
    assert entry["version"] is None or isinstance(entry["version"], int)
    for key in ("errors", "warnings", "normalised"):
        for finding in entry[key]:
            assert set(finding) == FINDING_KEYS
            assert isinstance(finding["message"], str) and finding["message"]


# ---------------------------------------------------------------------------
# ingest


def test_ingest_accepts_and_prints_the_json_contract(run, files):
    code, data = ingest_json(run, files["may"], "--user", "tianjian")
    assert code == 0
    [entry] = data["files"]
    assert_contract(entry)
    assert entry["file"] == files["may"]
    assert (entry["accepted"], entry["version"], entry["status"], entry["upload_id"]) == (True, 1, "accepted", 1)
    assert (entry["reporting_unit"], entry["month"]) == (UNIT, "2023-05")
    assert entry["errors"] == [] and len(entry["sha256"]) == 64
    [upload] = uploads_json(run)
    assert upload["submitted_by"] == "tianjian" and upload["state"] == "active"


def test_ingest_same_file_again_is_accepted_unchanged(run, files):
    assert run("ingest", files["may"])[0] == 0
    code, data = ingest_json(run, files["may"])
    assert code == 0
    assert (data["files"][0]["accepted"], data["files"][0]["version"], data["files"][0]["status"]) == (
        True, 1, "unchanged")
    assert len(uploads_json(run)) == 1


def test_ingest_a_new_file_for_the_month_makes_version_two(run, files):
    run("ingest", files["may"])
    code, data = ingest_json(run, files["may_v2"])
    entry = data["files"][0]
    assert code == 0 and entry["version"] == 2 and entry["superseded_upload_id"] == 1
    assert entry["changes"] and {"item", "category", "old", "new"} == set(entry["changes"][0])
    states = {u["upload_id"]: u["state"] for u in uploads_json(run)}
    assert states == {1: "superseded", 2: "active"}


def test_ingest_rejects_a_file_with_errors_and_writes_nothing(run, files):
    code, data = ingest_json(run, files["bad"])
    assert code == 1
    [entry] = data["files"]
    assert_contract(entry)
    assert (entry["accepted"], entry["version"], entry["status"]) == (False, None, "rejected")
    assert [(f["code"], f["row"], f["column"], f["value"]) for f in entry["errors"]] == [
        ("type-error", 2, "本月数值", "abc")]
    assert uploads_json(run) == []


def test_ingest_batch_exit_status_is_1_when_any_file_is_refused(run, files):
    code, data = ingest_json(run, files["may"], files["bad"], files["june"])
    assert code == 1
    assert [e["accepted"] for e in data["files"]] == [True, False, True]
    assert len(uploads_json(run)) == 2


def test_ingest_of_several_files_is_one_transaction_with_single_file_verdicts(run, files, db_path):
    # Several files go through Store.submit_many: each gets the verdict a single ingest would give it,
    # seeing the ones before it (the second May file supersedes the first), and one commit stores all.
    code, data = ingest_json(run, files["may"], files["may_v2"], files["bad"], files["may"], files["tuxin"])
    assert code == 1
    assert [(e["status"], e["version"]) for e in data["files"]] == [
        ("accepted", 1), ("accepted", 2), ("rejected", None), ("accepted", 3), ("accepted", 1)]
    assert data["files"][1]["superseded_upload_id"] == 1 and data["files"][1]["changes"]
    states = {u["upload_id"]: u["state"] for u in uploads_json(run)}
    assert states == {1: "superseded", 2: "superseded", 3: "active", 4: "active"}
    assert Store(db_path).audit_log(action="upload.accept")["at"].nunique() == 1  # one write


def test_ingest_warnings_need_confirm(run, files):
    code, data = ingest_json(run, files["large"])
    entry = data["files"][0]
    assert code == 1 and entry["status"] == "needs_confirmation" and entry["warnings"]
    assert "--confirm" in entry["message"]
    assert_contract(entry)
    code, data = ingest_json(run, files["large"], "--confirm")
    assert code == 0 and data["files"][0]["accepted"] and data["files"][0]["version"] == 1
    assert uploads_json(run)[0]["warnings_confirmed"] is True


def test_ingest_dry_run_writes_nothing(run, files):
    code, data = ingest_json(run, files["may"], files["tuxin"], "--dry-run")
    assert code == 0
    assert [(e["accepted"], e["version"], e["upload_id"]) for e in data["files"]] == [(True, 1, None)] * 2
    assert uploads_json(run) == []


def test_ingest_into_a_locked_month_is_refused_dry_run_included(run, files):
    assert run("lock", "2023-05")[0] == 0
    for extra in ([], ["--dry-run"]):
        code, data = ingest_json(run, files["may"], *extra)
        assert code == 1
        assert (data["files"][0]["status"], data["files"][0]["accepted"]) == ("locked", False)
        assert "已锁定" in data["files"][0]["message"]
    assert uploads_json(run) == []
    assert run("unlock", "2023-05")[0] == 0
    assert run("ingest", files["may"])[0] == 0


def test_ingest_readable_report(run, files):
    code, out, _ = run("ingest", files["may"], files["bad"])
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("已接收 第 1 版")
    assert any(line.startswith("未接收") for line in lines)
    assert "    第 2 行 · 列 本月数值 · 值 abc：" in out
    assert lines[-1] == "共 2 个文件：接收 1 个，未接收 1 个。"
    code, out, _ = run("ingest", files["may"])
    assert code == 0 and "与已有版本完全相同" in out


def test_ingest_unit_and_month_options_are_passed_to_intake(run, files):
    code, data = ingest_json(run, files["may"], "--unit", "天剑", "--month", "2023/5")
    assert code == 0 and data["files"][0]["reporting_unit"] == UNIT
    code, data = ingest_json(run, files["june"], "--month", "202305")  # declared month differs from the file
    assert code == 1 and data["files"][0]["errors"]


@pytest.mark.parametrize("argv, message", [
    (["ingest", "no-such-file.csv"], "找不到文件"),
    (["ingest", "{may}", "--month", "2023-13"], "月份"),
    (["ingest", "{may}", "--unit", "火星社区"], "不认识的报送单位"),
    (["lock", "May"], "月份"),
    (["uploads", "--month", "五月"], "月份"),
])
def test_usage_errors_exit_2(run, files, argv, message):
    code, _, err = run(*[a.format(**files) for a in argv])
    assert code == 2 and message in err


def test_rollback_argument_must_be_a_number(run):
    with pytest.raises(SystemExit) as info:
        run("rollback", "abc")
    assert info.value.code == 2


def test_ingest_contract_holds_for_every_catalogue_fixture(run):
    fixtures = sorted(p for p in FIXTURES.glob("*") if p.is_file()) if FIXTURES.is_dir() else []
    if not fixtures:
        pytest.skip("no intake fixtures in tests/fixtures/intake")
    code, data = ingest_json(run, "--dry-run", *map(str, fixtures))
    assert code in (0, 1)
    assert [e["file"] for e in data["files"]] == [str(p) for p in fixtures]
    for entry in data["files"]:
        assert_contract(entry)
        assert entry["accepted"] == (entry["status"] in ("accepted", "unchanged"))
        if entry["errors"]:
            assert not entry["accepted"]
    assert uploads_json(run) == []


# ---------------------------------------------------------------------------
# uploads, rollback, lock, unlock


def test_uploads_lists_every_version_with_filters(run, files):
    run("ingest", files["may"], files["tuxin"], files["june"])
    run("ingest", files["may_v2"])
    assert len(uploads_json(run)) == 4
    assert {u["upload_id"] for u in uploads_json(run, "--unit", "天剑社区")} == {1, 3, 4}
    assert {u["upload_id"] for u in uploads_json(run, "--unit", "天剑", "--month", "2023/5")} == {1, 4}
    code, out, _ = run("uploads", "--month", "2023-05")
    assert code == 0 and "已替换" in out and "有效" in out and "共 3 条" in out
    for upload in uploads_json(run):
        assert "raw" not in upload and isinstance(upload["received_at"], str)


def test_rollback_and_its_refusals(run, files):
    run("ingest", files["may"])
    run("ingest", files["may_v2"])
    code, out, _ = run("rollback", "2", "--user", "admin")
    assert code == 0 and "第 1 版恢复" in out
    assert {u["upload_id"]: u["state"] for u in uploads_json(run)} == {1: "active", 2: "rolled_back"}
    code, _, err = run("rollback", "2")
    assert code == 1 and "只能撤回当前有效的版本" in err
    code, _, err = run("rollback", "99")
    assert code == 1 and "找不到" in err
    run("lock", "2023-05")
    code, _, err = run("rollback", "1")
    assert code == 1 and "已锁定" in err


@pytest.mark.parametrize("spelling", ["2023-05", "2023-5", "2023/5", "202305", "2023年5月"])
def test_lock_accepts_the_usual_month_spellings(run, spelling, db_path):
    code, out, _ = run("lock", spelling, "--user", "admin")
    assert code == 0 and "已锁定 2023年5月" in out
    code, out, _ = run("lock", "2023-05")
    assert code == 0 and "原本就已锁定" in out
    from worktrack.store import Store

    store = Store(db_path)
    assert store.locked_months() == ["2023-05"]
    assert store.audit_log(action="month.lock").iloc[0]["actor"] == "admin"
    code, out, _ = run("unlock", spelling)
    assert code == 0 and store.locked_months() == []


# ---------------------------------------------------------------------------
# backup, restore


def test_backup_and_restore_through_the_cli(run, files, tmp_path, capsys):
    run("ingest", files["may"], files["tuxin"])
    code, out, _ = run("backup", str(tmp_path / "bk"))
    assert code == 0 and "manifest.json" in out
    assert (tmp_path / "bk" / "manifest.json").is_file()
    code, _, err = run("backup", str(tmp_path / "bk"))
    assert code == 1 and "不是空目录" in err

    fresh = tmp_path / "fresh.duckdb"
    assert main(["--db", str(fresh), "restore", str(tmp_path / "bk")]) == 0
    assert "已从" in capsys.readouterr().out
    code, _, err = run("restore", str(tmp_path / "bk"))  # the source database has data
    assert code == 1 and "--force" in err
    code, out, _ = run("restore", str(tmp_path / "bk"), "--force")
    assert code == 0 and "改名保留" in out


def test_a_street_moves_from_its_duckdb_file_to_postgresql_by_backup_and_restore(run, files, tmp_path, capsys,
                                                                                 pg_url):
    run("ingest", files["may"], files["tuxin"])
    assert run("backup", str(tmp_path / "bk"))[0] == 0
    password_url = pg_url.replace("postgres@", "postgres:not-shown@")  # trust auth: any password is accepted
    assert main(["--db", password_url, "restore", str(tmp_path / "bk")]) == 0
    out = capsys.readouterr().out
    assert "已从" in out and "not-shown" not in out
    code, out, _ = run("uploads", "--json")
    assert main(["--db", pg_url, "uploads", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(out)  # the same uploads, ids and versions
    assert main(["--db", pg_url, "restore", str(tmp_path / "bk")]) == 1
    assert "--force" in capsys.readouterr().err


def test_backup_holds_the_users_file_and_restore_puts_it_back(run, files, tmp_path, plan):
    from worktrack.auth import UserStore, users_path

    accounts = UserStore(users_path())
    accounts.add("tianjian", "Jinpen-ling-2023", "community", "天剑社区", plan=plan)
    run("ingest", files["may"])
    code, out, _ = run("backup", str(tmp_path / "bk"))
    assert code == 0 and "账号文件" in out
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["users_file"] == "users.yaml" and "users.yaml" in manifest["files"]
    saved = (tmp_path / "bk" / "users.yaml").read_text(encoding="utf-8")
    assert "$argon2id$" in saved and "Jinpen-ling-2023" not in saved
    assert oct((tmp_path / "bk" / "users.yaml").stat().st_mode & 0o777) == "0o600"

    before = users_path().read_bytes()
    accounts.add("intruder", "Intruder-pass-1", "admin")  # a change after the backup
    code, out, _ = run("restore", str(tmp_path / "bk"), "--force")
    assert code == 0 and "账号文件已恢复" in out and "原账号文件已改名保留" in out
    assert users_path().read_bytes() == before
    assert [u.username for u in UserStore(users_path()).list()] == ["tianjian"]
    assert oct(users_path().stat().st_mode & 0o777) == "0o600"
    kept = [p for p in users_path().parent.iterdir() if p.name.startswith("users.yaml.replaced-")]
    assert len(kept) == 1 and "intruder" in kept[0].read_text(encoding="utf-8")


def test_a_tampered_users_file_in_a_backup_is_refused(run, files, tmp_path, plan):
    from worktrack.auth import UserStore, users_path

    UserStore(users_path()).add("tianjian", "Jinpen-ling-2023", "community", "天剑社区", plan=plan)
    run("ingest", files["may"])
    run("backup", str(tmp_path / "bk"))
    with (tmp_path / "bk" / "users.yaml").open("a", encoding="utf-8") as fh:
        fh.write("  root: {role: admin}\n")
    code, _, err = run("restore", str(tmp_path / "bk"), "--force")
    assert code == 1 and "users.yaml" in err


def test_restore_refuses_a_tampered_backup(run, files, tmp_path):
    run("ingest", files["may"])
    run("backup", str(tmp_path / "bk"))
    raw = next((tmp_path / "bk" / "raw").iterdir())
    raw.write_bytes(b"changed")
    code, _, err = run("restore", str(tmp_path / "bk"), "--force")
    assert code == 1 and "校验" in err
    assert len(uploads_json(run)) == 1


# ---------------------------------------------------------------------------
# Real processes


def cli(db: Path, *argv: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, "WORKTRACK_PLAN": str(PLAN_PATH), "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), *argv], capture_output=True,
                          text=True, env=environment, cwd=ROOT, timeout=timeout)


def test_subprocess_exit_statuses(tmp_path, files):
    db = tmp_path / "sub" / "w.duckdb"  # parent directory created on demand
    ok = cli(db, "ingest", "--json", files["may"])
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["files"][0]["version"] == 1
    assert cli(db, "ingest", files["bad"]).returncode == 1
    assert cli(db, "ingest", "--month", "nope", files["may"]).returncode == 2
    assert cli(db, "rollback", "7").returncode == 1


def test_busy_database_retries_then_exits_1_without_traceback(tmp_path, files):
    db = tmp_path / "w.duckdb"
    assert cli(db, "ingest", files["may"]).returncode == 0
    holder = hold_database(db, 60)
    try:
        for argv in (["uploads"], ["ingest", files["june"]], ["lock", "2023-06"]):
            result = cli(db, *argv, env={"WORKTRACK_BUSY_TIMEOUT": "0.5"})
            assert result.returncode == 1, (argv, result.stdout, result.stderr)
            assert "数据库正被另一个程序使用" in result.stderr and "请稍后重试" in result.stderr
            assert "Traceback" not in result.stderr + result.stdout
    finally:
        holder.kill()
        holder.wait()
    assert cli(db, "uploads").returncode == 0


def test_bad_busy_timeout_is_a_usage_error(tmp_path):
    result = cli(tmp_path / "w.duckdb", "uploads", env={"WORKTRACK_BUSY_TIMEOUT": "soon"})
    assert result.returncode == 2 and "WORKTRACK_BUSY_TIMEOUT" in result.stderr


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"this is a spreadsheet, not a database" * 50)
    result = cli(db, "uploads")
    assert result.returncode == 1 and "无法打开数据库文件" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------
# Damaged databases and full disks


def test_regression_ingest_printed_a_receipt_on_a_damaged_database(tmp_path, files, plan):
    from tests.test_store import flip_block_of

    db = tmp_path / "w.duckdb"
    assert cli(db, "ingest", files["may"], files["tuxin"]).returncode == 0
    flip_block_of(db, "metric_totals")
    result = cli(db, "ingest", files["june"])
    assert result.returncode == 1, result.stdout
    assert "已接收" not in result.stdout
    assert "已损坏" in result.stderr and "restore" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_truncated_database_points_to_restore_and_forced_restore_rebuilds_it(tmp_path, files):
    db = tmp_path / "w.duckdb"
    assert cli(db, "ingest", files["may"], files["june"]).returncode == 0
    assert cli(db, "backup", str(tmp_path / "bk")).returncode == 0
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    damaged = db.read_bytes()
    listing = cli(db, "uploads")
    assert listing.returncode == 1 and "已损坏" in listing.stderr and "restore" in listing.stderr
    assert "Traceback" not in listing.stderr
    refused = cli(db, "restore", str(tmp_path / "bk"))
    assert refused.returncode == 1 and "--force" in refused.stderr
    restored = cli(db, "restore", str(tmp_path / "bk"), "--force")
    assert restored.returncode == 0, restored.stderr
    assert "改名保留" in restored.stdout
    kept = [p for p in tmp_path.glob("w.duckdb.replaced-*") if not p.name.endswith(".wal")]
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    assert len(json.loads(cli(db, "uploads", "--json").stdout)["uploads"]) == 2


def test_a_full_disk_is_a_chinese_message_without_traceback(tiny_disk, files):
    db = tiny_disk / "w.duckdb"
    assert cli(db, "ingest", files["may"]).returncode == 0
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    (tiny_disk / "filler").write_bytes(b"\0" * (free - 4096))
    result = cli(db, "ingest", files["june"])
    assert result.returncode == 1
    assert "磁盘空间不足" in result.stderr and "Traceback" not in result.stderr
    assert "已接收" not in result.stdout


# ---------------------------------------------------------------------------
# Signed backups and private files


def test_signed_backup_restore_and_a_tampered_copy_is_refused(tmp_path, files):
    from tests.test_store import recompute_manifest

    db = tmp_path / "w.duckdb"
    key = tmp_path / "backup.key"
    key.write_text("8f1c0a9e5b7d4c2a8f1c0a9e5b7d4c2a\n")
    key.chmod(0o600)
    assert cli(db, "ingest", files["may"]).returncode == 0
    made = cli(db, "backup", str(tmp_path / "bk"), "--sign-key", str(key))
    assert made.returncode == 0 and "签名" in made.stdout
    good = cli(tmp_path / "r1.duckdb", "restore", str(tmp_path / "bk"), "--sign-key", str(key))
    assert good.returncode == 0 and "签名核验通过" in good.stdout and not good.stderr

    # someone changes a raw file and rewrites the manifest so that every hash matches
    raw = next((tmp_path / "bk" / "raw").iterdir())
    raw.write_bytes(raw.read_bytes().replace(b",1,", b",9,", 1))
    recompute_manifest(tmp_path / "bk")
    bad = cli(tmp_path / "r2.duckdb", "restore", str(tmp_path / "bk"), env={"WORKTRACK_BACKUP_SIGN_KEY": str(key)})
    assert bad.returncode == 1 and "签名与清单不符" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "r2.duckdb").exists()


def test_an_unsigned_backup_restores_with_a_warning(tmp_path, files):
    db = tmp_path / "w.duckdb"
    key = tmp_path / "backup.key"
    key.write_text("8f1c0a9e5b7d4c2a8f1c0a9e5b7d4c2a\n")
    assert cli(db, "ingest", files["may"]).returncode == 0
    assert cli(db, "backup", str(tmp_path / "bk")).returncode == 0
    restored = cli(tmp_path / "r.duckdb", "restore", str(tmp_path / "bk"), "--sign-key", str(key))
    assert restored.returncode == 0, restored.stderr
    assert "没有签名" in restored.stderr and "已从" in restored.stdout


def test_a_short_signing_key_is_refused(tmp_path, files):
    key = tmp_path / "backup.key"
    key.write_text("abc")
    result = cli(tmp_path / "w.duckdb", "backup", str(tmp_path / "bk"), "--sign-key", str(key))
    assert result.returncode == 1 and "太短" in result.stderr


CRASH_AFTER_COMMIT = """
import os, signal, sys
import worktrack.store as store
keep_private = store._make_database_private
def crash_once_the_log_exists(path):
    if os.path.exists(f"{path}.wal"):
        os.kill(os.getpid(), signal.SIGKILL)  # power cut between commit and checkpoint
    keep_private(path)
store._make_database_private = crash_once_the_log_exists
os.umask(0o022)
from worktrack.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_cli_creates_database_and_log_owner_only_even_when_it_crashes(tmp_path, files):
    db = tmp_path / "w.duckdb"
    environment = {**os.environ, "WORKTRACK_PLAN": str(PLAN_PATH), "PYTHONPATH": str(ROOT)}
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER_COMMIT, "--db", str(db), "ingest", files["may"]],
                             capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120)
    assert crashed.returncode == -9
    wal = Path(f"{db}.wal")
    assert wal.exists()
    assert {p.name: p.stat().st_mode & 0o777 for p in (db, wal)} == {db.name: 0o600, wal.name: 0o600}
    # the log is replayed at the next opening
    assert cli(db, "uploads").returncode == 0


# what is printed of file names and cell values cannot drive the terminal


def test_ingest_and_uploads_print_hostile_names_and_values_safely(run, files, plan, tmp_path):
    hostile_name = "\x1b[2J\x1b[31m天剑\u202excod.csv"
    clean = (tmp_path / "in" / "tianjian-2023-05.csv").read_bytes()
    path = tmp_path / "in" / hostile_name
    path.write_bytes(clean)
    bad = tmp_path / "in" / "bad\x1b]0;title\x07.csv"
    bad.write_bytes(csv_bytes(plan, UNIT, "2023-07", 1).replace(b",1,", b",\x1b[31m5\x1b[0m,", 1))
    code, out, _ = run("ingest", str(path), str(bad), "--user", "\x1b[1madmin")
    assert code == 1
    assert "\x1b" not in out and "\x07" not in out
    assert "天剑<U+202E>xcod.csv" in out and "badtitle.csv" not in out and "bad.csv" in out
    assert "值 5：" in out  # the value is shown without its escape codes
    code, out, _ = run("uploads")
    assert code == 0 and "\x1b" not in out and "天剑<U+202E>xcod.csv" in out and "admin" in out
    assert uploads_json(run)[0]["file_name"] == hostile_name  # the record itself is untouched


def test_raw_files_lists_then_deletes_unreferenced_files(tmp_path, files):
    db = tmp_path / "w.duckdb"
    assert cli(db, "ingest", files["may"]).returncode == 0
    orphan = tmp_path / "raw" / hashlib.sha256(b"orphan").hexdigest()
    orphan.write_bytes(b"orphan")
    os.utime(orphan, (time.time() - 2 * 86400,) * 2)
    listed = cli(db, "raw-files", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [e["name"] for e in json.loads(listed.stdout)["unreferenced"]] == [orphan.name] and orphan.exists()
    deleted = cli(db, "raw-files", "--delete")
    assert deleted.returncode == 0 and "已删除 1 个" in deleted.stdout and not orphan.exists()
    assert "没有" in cli(db, "raw-files").stdout
    assert len(list((tmp_path / "raw").iterdir())) == 1  # the ingested file stays
