"""The store's register block: register files as uploads of a kind, receipts, rollback, migration, backups.

Kept apart from test_store.py because the register tables are a separate block of store.py (its own
migration), so that both can change at the same time without stepping on each other.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.test_registers import FIXTURES, ID_NUMBERS, KEY
from worktrack.registers import read_register
from worktrack.store import MIGRATIONS, REGISTER_MIGRATION, SCHEMA_VERSION, Store, StoreRefused


def submit(store, plan, name: str, kind: str = "retrofit_register", **kwargs):
    data = (FIXTURES / name).read_bytes()
    report = read_register(data, name, plan, kind, key=KEY)
    assert report.flat() == [], report.errors
    return store.submit_register(report, data, submitted_by="tianjian", **kwargs)


@pytest.fixture
def store(db_location) -> Store:
    """A store on each backend: register uploads and their counting run on DuckDB and on PostgreSQL."""
    return Store(db_location)


def test_the_clerks_journey_two_new_one_already_counted(store, plan):
    june = submit(store, plan, "retrofit_2023-06.csv")
    assert (june.status, june.version, june.counted, june.already_counted) == ("accepted", 1, 2, 0)
    july = submit(store, plan, "retrofit_2023-07.csv")
    assert (july.status, july.counted, july.already_counted, july.counted_elsewhere) == ("accepted", 2, 1, [])
    assert "新增 2 户" in july.message and "1 户已在 2023-06 计入" in july.message
    assert july.already_counted_in == {"2023-06": 1}


def test_a_household_registered_by_another_unit_is_listed_not_merged(store, plan):
    submit(store, plan, "retrofit_2023-06.csv")
    other = submit(store, plan, "retrofit_other_unit_2023-07.csv")
    assert other.counted == 0 and other.already_counted == 0
    assert other.counted_elsewhere == [{"row": 2, "id_masked": "4301**********4565", "units": ["天剑社区"]}]
    assert "天剑社区" in other.message
    assert len(store.register_rows("retrofit_register")) == 3  # both rows are kept; counting decides


def test_versions_supersede_and_rollback_reactivates(store, plan):
    first = submit(store, plan, "retrofit_2023-06.csv")
    again = submit(store, plan, "retrofit_2023-06.csv")
    assert again.status == "unchanged" and again.upload_id == first.upload_id
    data = (FIXTURES / "retrofit_2023-06.csv").read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n"
    second = store.submit_register(read_register(data, "r.csv", plan, "retrofit_register", key=KEY), data,
                                   submitted_by="tianjian")
    assert (second.version, second.superseded_upload_id, second.already_counted) == (2, first.upload_id, 0)
    assert len(store.register_rows("retrofit_register")) == 1
    result = store.rollback_register(second.upload_id, actor="admin")
    assert result.reactivated_upload_id == first.upload_id
    assert len(store.register_rows("retrofit_register")) == 2
    states = store.register_uploads()["state"].tolist()
    assert states == ["active", "rolled_back"]
    with pytest.raises(StoreRefused):
        store.rollback_register(second.upload_id, actor="admin")
    actions = store.audit_log()["action"].tolist()
    assert {"register.accept", "register.supersede", "register.rollback", "register.reactivate"} <= set(actions)


def test_registers_are_per_plan_versions_counts_locks_and_reads(store, plan):
    first, other = store.for_plan(plan.id), store.for_plan("another-street-2023")
    mine = submit(first, plan, "retrofit_2023-06.csv")
    theirs = submit(other, plan, "retrofit_2023-06.csv")
    # the same file in another plan: its own first version, its rows new there, not "unchanged"
    assert (theirs.status, theirs.version, theirs.counted, theirs.already_counted) == ("accepted", 1, 2, 0)
    assert theirs.upload_id != mine.upload_id
    assert len(first.register_rows("retrofit_register")) == len(other.register_rows("retrofit_register")) == 2
    assert len(store.register_rows("retrofit_register")) == 4  # an unscoped read sees both plans
    july = submit(other, plan, "retrofit_2023-07.csv")
    assert (july.counted, july.already_counted) == (2, 1)  # counted against its own plan's June only
    assert first.register_uploads()["upload_id"].tolist() == [mine.upload_id]
    first.lock_month("2023-07", actor="admin")
    assert submit(first, plan, "retrofit_2023-07.csv").status == "locked"
    other.rollback_register(july.upload_id, actor="admin")  # the other plan's July is open
    assert submit(other, plan, "retrofit_2023-07.csv").version == 2


def test_a_locked_month_refuses_a_register(store, plan):
    store.lock_month("2023-06", actor="admin")
    assert submit(store, plan, "retrofit_2023-06.csv").status == "locked"
    assert store.register_uploads().empty


def test_a_register_with_errors_writes_nothing(store, plan):
    data = (FIXTURES / "retrofit_2023-06.csv").read_bytes().replace(ID_NUMBERS[0].encode(), b"430103194805061235")
    report = read_register(data, "r.csv", plan, "retrofit_register", key=KEY)
    result = store.submit_register(report, data, submitted_by="tianjian")
    assert result.status == "rejected" and store.register_uploads().empty and store.register_rows().empty


def test_dry_run_says_the_receipt_and_writes_nothing(store, plan):
    submit(store, plan, "retrofit_2023-06.csv")
    result = submit(store, plan, "retrofit_2023-07.csv", dry_run=True)
    assert (result.status, result.dry_run, result.counted, result.already_counted) == ("accepted", True, 2, 1)
    assert len(store.register_uploads()) == 1


def test_no_full_id_number_in_the_database_file_or_a_backup(store, plan, tmp_path):
    for name, kind in (("retrofit_2023-06.csv", "retrofit_register"), ("retrofit_2023-07.csv", "retrofit_register"),
                       ("help_2023-06.csv", "help_register"), ("donation_2023-06.csv", "donation_register")):
        submit(store, plan, name, kind)
    store.backup(tmp_path / "backup")
    if hasattr(store, "url"):  # PostgreSQL: every row of every table, as text
        import psycopg

        with psycopg.connect(store.url) as con:
            tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                                "WHERE table_schema = 'public'").fetchall()]
            dump = "\n".join(str(con.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)
        (tmp_path / "database-dump.txt").write_text(dump, encoding="utf-8")
        assert "register_rows" in tables and dump.count("天剑社区") > 0
        files = [tmp_path / "database-dump.txt"]
    else:
        files = [p for p in store.path.parent.iterdir() if p.is_file()]
    files += [p for p in (tmp_path / "backup").rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        for number in ID_NUMBERS:
            assert number.encode() not in data, path
            assert number.encode("utf-16-le") not in data, path
    # the scan finds a number where there is one: a DuckDB file holding it in clear
    control = tmp_path / "control.duckdb"
    with duckdb.connect(str(control)) as con:
        con.execute("CREATE TABLE t AS SELECT ? AS id_number FROM range(3)", [ID_NUMBERS[0]])
        con.execute("CHECKPOINT")
    assert ID_NUMBERS[0].encode() in control.read_bytes()


def test_backups_carry_masked_names_and_restore_them(store, plan, tmp_path):
    submit(store, plan, "retrofit_2023-06.csv")
    manifest = store.backup(tmp_path / "backup")
    assert manifest["tables"]["register_rows"]["rows"] == 2
    names = duckdb.sql(f"SELECT person_name FROM '{tmp_path / 'backup' / 'register_rows.parquet'}' "
                       "ORDER BY source_row").fetchall()
    assert names == [("张*明",), ("李*",)]
    restored = Store.restore(tmp_path / "backup", tmp_path / "restored" / "b.duckdb")
    assert restored.register_rows()["person_name"].tolist() == ["张*明", "李*"]


def test_a_database_of_the_previous_schema_is_migrated(tmp_path, plan):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for migration in MIGRATIONS:
        if migration.version < REGISTER_MIGRATION.version:
            con.execute(migration.sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [migration.version, migration.description])
    con.close()
    store = Store(path)
    with store.snapshot() as reader:
        assert reader.schema_version() == SCHEMA_VERSION >= REGISTER_MIGRATION.version
    assert submit(store, plan, "retrofit_2023-06.csv").status == "accepted"
