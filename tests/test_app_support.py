"""app_support's database fault display: a busy, damaged or full database in the dashboard.

AppTest runs the real dashboard against a real database file held by another process, or damaged
on disk, and looks for the message and the retry button instead of Streamlit's error box.
"""

from __future__ import annotations

import pytest

from tests.apptest import dashboard, texts
from tests.test_store import flip_block_of, hold_database, make_report
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]


@pytest.fixture
def busy_db(db_path, plan, monkeypatch):
    """A database with one upload, held open by another process for the length of the test."""
    Store(db_path).submit(*make_report(plan), submitted_by="t")
    monkeypatch.setenv("WORKTRACK_BUSY_TIMEOUT", "0.3")
    holder = hold_database(db_path, 120)
    yield holder
    holder.kill()
    holder.wait()


def retry_button(at):
    return next(b for b in at.button if b.key == "ops_retry")


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/upload.py", "pages/admin.py"])
def test_regression_busy_database_showed_streamlits_english_error(busy_db, accounts, page):
    # The page used to end in Streamlit's redacted English exception box.
    at = dashboard(accounts["admin" if page.endswith("admin.py") else "tianjian"], page=page)
    assert not at.exception
    assert "数据库正被另一个程序使用" in texts(at)
    assert retry_button(at).label == "重试"


def test_the_retry_button_shows_the_page_once_the_database_is_free(busy_db, accounts):
    at = dashboard(accounts["leader"])
    assert "数据库正被另一个程序使用" in texts(at)
    busy_db.kill()
    busy_db.wait()
    retry_button(at).click().run()
    assert not at.exception
    assert "数据库正被另一个程序使用" not in texts(at)
    assert not [b for b in at.button if b.key == "ops_retry"]


def test_busy_database_in_english(busy_db, accounts):
    at = dashboard(accounts["leader"], lang="en")
    assert "in use by another program" in texts(at)
    assert retry_button(at).label == "Retry"


def test_a_damaged_database_says_so_and_points_to_restore(db_path, plan, accounts):
    store = Store(db_path)
    for scale in range(1, 4):
        store.submit(*make_report(plan, scale=scale), submitted_by="t")
    flip_block_of(db_path, "uploads")
    data = bytearray(db_path.read_bytes())
    data[4096 + 100] ^= 0xFF  # and the database header: it cannot even be opened
    db_path.write_bytes(bytes(data))
    at = dashboard(accounts["leader"])
    assert not at.exception
    shown = texts(at)
    assert "数据库文件已损坏" in shown and "restore" in shown
    assert retry_button(at)


def test_a_refusal_is_left_to_the_page(db_path, plan, accounts):
    # Only busy/damaged/full stop the page: a refused rollback is still the admin page's message.
    from app_support import _GuardedStore
    from worktrack.store import StoreRefused

    with pytest.raises(StoreRefused):
        _GuardedStore(Store(db_path)).rollback(99, actor="admin")
