"""台账 page under AppTest: masked for leaders and other units, unmasked for the filing unit with an audit row."""

from __future__ import annotations

import pytest

from tests.apptest import dashboard, table_text, texts
from tests.test_registers import FIXTURES, ID_NUMBERS, KEY
from worktrack.registers import read_register
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

PAGE = "pages/registers.py"


@pytest.fixture
def filed(db_path, plan) -> Store:
    """天剑社区's June and July retrofit registers, and 涂新社区's July one (a household of 天剑's again)."""
    store = Store(db_path)
    for name in ("retrofit_2023-06.csv", "retrofit_2023-07.csv", "retrofit_other_unit_2023-07.csv"):
        data = (FIXTURES / name).read_bytes()
        report = read_register(data, name, plan, "retrofit_register", key=KEY)
        assert store.submit_register(report, data, submitted_by="clerk").accepted
    return store


def unmasked_views(store: Store):
    return store.audit_log(action="register.view_unmasked")


def test_a_leader_sees_masked_rows_counts_and_duplicates(filed, accounts):
    at = dashboard(accounts["leader"], PAGE)
    shown = table_text(at)
    assert "张*明" in shown and "4301**********1234" in shown
    assert "张三明" not in shown and not any(n in shown for n in ID_NUMBERS)
    assert not [w for w in at.toggle if w.key == "registers_unmask"]  # no way to unmask for a leader
    assert "跨单位重复登记（由街道核定）" in texts(at)
    assert "涂新社区" in shown  # the household 涂新 registered again, listed for the street office
    assert "4 户" in shown  # 天剑社区's households counted once: 2 in June, 2 new in July (the repeat not again)
    assert "id_masked" not in shown and "身份证号" in shown
    assert unmasked_views(filed).empty


def test_the_filing_unit_unmasks_its_own_rows_and_the_view_is_audited(filed, accounts):
    at = dashboard(accounts["tianjian"], PAGE)
    assert "张三明" not in table_text(at)  # masked until asked for
    assert "涂新社区" not in table_text(at)  # another unit's rows are not listed to a community
    at.toggle(key="registers_unmask").set_value(True).run()
    assert "张三明" in table_text(at) and "欧阳秀英" in table_text(at)
    assert "4301**********1234" in table_text(at)  # ID numbers stay masked: the store has no full number
    log = unmasked_views(filed)
    assert list(log["actor"]) == ["tianjian"] and list(log["target"]) == ["register:retrofit_register:天剑社区"]
    at.text_input(key="registers_search").input("欧阳").run()
    assert "欧阳秀英" in table_text(at) and "张三明" not in table_text(at)
    assert len(unmasked_views(filed)) == 2  # every unmasked view is written


def test_another_community_sees_only_its_own_rows_masked(filed, accounts):
    at = dashboard(accounts["xiajiachong"], PAGE)
    assert "天剑社区" not in table_text(at).replace("上报单位", "")
    assert "还没有这类台账。" in texts(at)


def test_the_page_reads_in_english(filed, accounts):
    at = dashboard(accounts["leader"], PAGE, lang="en")
    assert "Registers" in texts(at) and "张*明" in table_text(at)
    assert "Registered by more than one unit (for the street office to settle)" in texts(at)
