"""CLI contracts of the monthly cycle: review, uploads --json, remind, close, reopen, status, export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.test_store import csv_bytes
from worktrack.cli import main

UNIT = "天剑社区"
OTHER = "涂新社区"


@pytest.fixture
def run(db_path, capsys, monkeypatch, tmp_path):
    """Run the CLI in-process with a users file of our own; return (exit status, stdout, stderr)."""
    monkeypatch.setenv("WORKTRACK_USERS", str(tmp_path / "users.yaml"))
    monkeypatch.setenv("WORKTRACK_TODAY", "2023-07-20")

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", str(db_path), *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture
def filed(run, tmp_path, plan):
    """天剑社区 and 涂新社区 filed May and June (ids 1..4: May 天剑, May 涂新, June 天剑, June 涂新)."""
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for month in ("2023-05", "2023-06"):
        for unit in (UNIT, OTHER):
            path = folder / f"{unit}-{month}.csv"
            path.write_bytes(csv_bytes(plan, unit, month, 1))
            paths.append(str(path))
    for path in paths:
        code, _, err = run("ingest", path, "--user", "clerk")
        assert code == 0, err
    return paths


def uploads(run) -> dict[int, dict]:
    code, out, _ = run("uploads", "--json")
    assert code == 0
    return {u["upload_id"]: u for u in json.loads(out)["uploads"]}


def test_review_approve_and_return_show_in_uploads_json(run, filed):
    assert {u["review_state"] for u in uploads(run).values()} == {"pending"}
    assert {u["review_reason"] for u in uploads(run).values()} == {""}
    code, out, _ = run("review", "1", "--approve", "--user", "reviewer", "--json")
    assert code == 0
    assert json.loads(out).items() >= {"upload_id": 1, "previous_state": "pending",
                                       "review_state": "approved"}.items()
    code, out, _ = run("review", "2", "--return", "救助人数与台账不符", "--user", "reviewer")
    assert code == 0 and "已退回" in out and "救助人数与台账不符" in out
    listed = uploads(run)
    assert (listed[1]["review_state"], listed[2]["review_state"], listed[3]["review_state"]) == \
        ("approved", "returned", "pending")
    assert listed[2]["review_reason"] == "救助人数与台账不符"


@pytest.mark.parametrize(("argv", "status", "message"), [
    (["review", "1"], 2, "--approve"),  # one of the two is required
    (["review", "1", "--approve", "--return", "x"], 2, "not allowed with"),
    (["review", "1", "--return", " "], 1, "原因"),
    (["review", "99", "--approve"], 1, "找不到"),
    (["review", "1", "--approve", "--user", "clerk"], 1, "本人"),  # the clerk filed it
])
def test_review_refusals_and_usage_errors(run, filed, argv, status, message, capsys):
    try:
        code, out, err = run(*argv)
    except SystemExit as exc:  # argparse usage errors
        code, err = exc.code, capsys.readouterr().err
    assert code == status
    assert message in err


def test_a_community_account_cannot_review_and_a_reviewer_account_can(run, filed, plan):
    from worktrack.auth import UserStore, users_path

    accounts = UserStore(users_path())
    accounts.add("tianjian", "Test-password-2023", "community", UNIT, "天剑社区", plan=plan)
    accounts.add("rev", "Test-password-2023", "reviewer", None, "审核员")
    code, _, err = run("review", "2", "--approve", "--user", "tianjian")
    assert code == 1 and "不能审核" in err
    code, _, _ = run("review", "2", "--approve", "--user", "rev")
    assert code == 0
    assert uploads(run)[2]["review_state"] == "approved"


def test_users_add_role_reviewer(run, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Reviewer-pass-2023\n")))
    code, out, err = run("users", "add", "rev", "--role", "reviewer", "--name", "审核员", "--password-stdin")
    assert code == 0, err
    code, out, _ = run("users", "list", "--json")
    assert next(a for a in json.loads(out)["users"] if a["username"] == "rev")["role"] == "reviewer"


def test_remind_json_contract(run, filed):
    run("review", "3", "--return", "数字有误", "--user", "reviewer")
    code, out, _ = run("remind", "--month", "2023-06", "--as-of-date", "2023-07-06", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"month", "due_date", "units", "group_message"}
    assert (data["month"], data["due_date"]) == ("2023-06", "2023-07-05")
    states = {u["reporting_unit"]: u for u in data["units"]}
    assert all(set(u) >= {"reporting_unit", "state", "message"} for u in data["units"])
    assert {u["state"] for u in data["units"]} <= {"missing", "late", "returned", "pending", "approved"}
    assert states[UNIT]["state"] == "returned" and "数字有误" in states[UNIT]["message"]
    assert states[OTHER]["state"] in ("pending", "late")
    missing = states["黄土岭社区"]
    assert missing["state"] == "missing"
    # the message names the month, what is missing, the due day and the contact
    for part in ("黄土岭社区", "2023年6月", "月报尚未报送", "2023年7月5日", "街道民政办"):
        assert part in missing["message"]
    assert "黄土岭社区" in data["group_message"] and "天剑社区" in data["group_message"]
    code, out, _ = run("remind", "--month", "2023-06", "--as-of-date", "2023-07-06")
    assert code == 0 and "黄土岭社区：未报" in out and "【催报】" in out


def test_remind_usage_errors_exit_2(run):
    assert run("remind", "--month", "2023-06", "--as-of-date", "7月6日")[0] == 2
    with pytest.raises(SystemExit) as exc:
        run("remind")
    assert exc.value.code == 2


def test_close_lists_the_blocking_reports_then_closes_and_reopen_needs_a_reason(run, filed, tmp_path, plan):
    run("review", "1", "--approve", "--user", "reviewer")
    run("review", "2", "--return", "请核对", "--user", "reviewer")
    code, out, _ = run("close", "2023-05", "--user", "admin")
    assert code == 1
    assert "不能关账" in out and "编号 2" in out and "已退回" in out and "编号 1" not in out
    refiled = tmp_path / "tuxin-fixed.csv"
    refiled.write_bytes(csv_bytes(plan, OTHER, "2023-05", 2))
    assert run("ingest", str(refiled), "--user", "clerk", "--confirm")[0] == 0  # upload 5, pending
    code, out, _ = run("close", "2023-05", "--json")
    assert code == 1 and [b["upload_id"] for b in json.loads(out)["blocking"]] == [5]
    run("review", "5", "--approve", "--user", "reviewer")
    code, out, _ = run("close", "2023-05", "--user", "admin")
    assert code == 0 and "已关账" in out
    late = tmp_path / "late.csv"
    late.write_bytes(csv_bytes(plan, "黄土岭社区", "2023-05", 1))
    code, out, _ = run("ingest", str(late))
    assert code == 1 and "已锁定" in out
    with pytest.raises(SystemExit) as exc:
        run("reopen", "2023-05")
    assert exc.value.code == 2  # --reason is required
    code, _, err = run("reopen", "2023-05", "--reason", " ")
    assert code == 1 and "原因" in err
    code, out, _ = run("reopen", "2023-05", "--reason", "黄土岭社区补报", "--user", "admin")
    assert code == 0 and "已重新开放" in out
    assert run("ingest", str(late))[0] == 0


def test_status_json_has_review_state_per_cell_and_approved_only(run, filed):
    run("review", "1", "--approve", "--user", "reviewer")
    code, out, _ = run("status", "--as-of", "2023-05", "--json")
    data = json.loads(out)
    assert data["approved_only"] is True
    cells = {(r["reporting_unit"], r["month"]): r["review_state"] for r in data["reporting"]}
    assert cells[(UNIT, "2023-05")] == "approved" and cells[(OTHER, "2023-05")] == "pending"
    assert cells[("黄土岭社区", "2023-05")] is None
    # the pinned keys are all still there
    assert set(data) >= {"as_of", "unit", "targets", "obligations", "tasks", "reporting", "status_counts",
                         "obligation_counts", "pending_units", "partial"}
    street = {t["target_id"]: t for t in data["targets"]}
    code, out, _ = run("status", "--as-of", "2023-05", "--json", "--include-pending")
    pending = json.loads(out)
    assert pending["approved_only"] is False
    both = {t["target_id"]: t for t in pending["targets"]}
    assert both["retrofit_households:street"]["actual"] > street["retrofit_households:street"]["actual"]
    assert both["retrofit_households:street"]["includes_pending"] is True
    assert street["retrofit_households:street"]["includes_pending"] is False


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("fmt", ["pptx", "xlsx"])
def test_a_closed_months_pack_is_regenerated_byte_identical(run, filed, tmp_path, plan, monkeypatch, fmt):
    for upload_id in ("1", "2", "3", "4"):
        run("review", upload_id, "--approve", "--user", "reviewer")
    monkeypatch.setenv("WORKTRACK_TODAY", "2023-06-12")
    before = tmp_path / f"before.{fmt}"
    assert run("export", "--as-of", "2023-05", "--format", fmt, "-o", str(before))[0] == 0
    assert run("close", "2023-05")[0] == 0
    # later: a new approved report for June, another day
    june = tmp_path / "june.csv"
    june.write_bytes(csv_bytes(plan, "黄土岭社区", "2023-06", 1))
    run("ingest", str(june))
    run("review", "5", "--approve", "--user", "reviewer")
    monkeypatch.setenv("WORKTRACK_TODAY", "2023-09-30")
    after = tmp_path / f"after.{fmt}"
    code, out, _ = run("export", "--as-of", "2023-05", "--format", fmt, "-o", str(after), "--json")
    assert code == 0 and json.loads(out)["frozen"] is True
    assert _parts(after.read_bytes()) == _parts(before.read_bytes())
    assert after.read_bytes() == before.read_bytes()
    # an open month's pack follows the data
    live = tmp_path / f"live.{fmt}"
    run("export", "--as-of", "2023-06", "--format", fmt, "-o", str(live), "--json")
    assert live.read_bytes() != after.read_bytes()
