"""Views: progress reports shaped into the screens' tables."""

from __future__ import annotations

import pandas as pd
import pytest

from worktrack.charts import month_label, short_month_label
from worktrack.i18n import translate
from worktrack.progress import status_from_store
from worktrack.store import Store
from worktrack.views import metric_name, reporting_grid


def grid_cell(report, unit: str, month: str, lang: str) -> str:
    """One cell of the reporting grid, straight from its definition."""
    row = report.reporting.set_index(["reporting_unit", "month"]).loc[(unit, month)]
    if not row["received"]:
        text = translate("grid.missing", lang)
    elif not pd.isna(row["on_time"]) and not bool(row["on_time"]):
        text = translate("grid.late", lang)
    else:
        text = translate("grid.on_time", lang)
    ob = report.obligations
    first = ob[ob["reporting_unit"].notna()]["metric"].iloc[0]  # the first every-month obligation of the units
    gov = ob[(ob["metric"] == first) & (ob["reporting_unit"] == unit) & (ob["month"] == month)]
    if len(gov):
        key = "grid.reports_met" if bool(gov["met"].iloc[0]) else "grid.reports_missed"
        text += " · " + translate(key, lang, n=int(gov["actual"].iloc[0]), name=metric_name(report.plan, first, lang))
    return text


@pytest.mark.parametrize("as_of", ["2023-04", "2023-07", "2023-10"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reporting_grid_cells_follow_their_definition(plan, demo_db, as_of, lang):
    # the demo story has a missing month (狮子山社区 2023-07) and a late one (涂新社区 2023-06)
    report = status_from_store(plan, Store(demo_db), as_of)
    grid = reporting_grid(report, lang)
    months = sorted(report.reporting["month"].unique())
    assert list(grid.index) == list(dict.fromkeys(report.reporting["reporting_unit"]))
    assert list(grid.columns) == [short_month_label(m, lang) for m in months]
    assert grid.index.name == translate("grid.unit", lang)
    for unit in grid.index:
        for month, column in zip(months, grid.columns, strict=True):
            assert grid.loc[unit, column] == grid_cell(report, unit, month, lang), (unit, month)
    if as_of >= "2023-07":
        assert grid.loc["狮子山社区", short_month_label("2023-07", lang)].startswith(translate("grid.missing", lang))
        assert grid.loc["涂新社区", short_month_label("2023-06", lang)].startswith(translate("grid.late", lang))


def test_reporting_grid_labels_months_with_the_year_beyond_twelve_months(plan, demo_db):
    report = status_from_store(plan, Store(demo_db), "2023-10")
    many = report.reporting.copy()
    many["month"] = many["month"].str.replace("2023-", "2022-")
    longer = pd.concat([many, report.reporting], ignore_index=True)
    report.reporting = longer
    grid = reporting_grid(report, "zh")
    assert list(grid.columns) == [month_label(m, "zh") for m in sorted(longer["month"].unique())]


def test_reporting_grid_of_an_empty_database_shows_every_report_missing(plan, db_path):
    grid = reporting_grid(status_from_store(plan, Store(db_path), "2023-05"), "zh")
    assert grid.shape == (len(plan.units), 2)
    assert all(cell.startswith(translate("grid.missing", "zh")) for cell in grid.to_numpy().ravel())


def test_a_comparison_of_many_units_keeps_those_furthest_behind_in_their_order():
    """A city's 990 communities made a comparison chart nobody could read; it shows the furthest behind."""
    from worktrack.views.tables import most_behind

    rows = pd.DataFrame({
        "reporting_unit": ["甲", "乙", "丙", "丁", "戊", "己"],
        "actual": [5.0, 1.0, 0.0, 4.0, 0.0, 0.0],
        "target": [10.0, 10.0, 20.0, 10.0, 10.0, 5.0],
        "expected": [5.0, 5.0, 10.0, 5.0, 0.0, 5.0],  # 戊 is expected to have nothing yet: not behind
        "status": ["on_track", "behind", "behind", "at_risk", "not_started", "behind"],
    })
    assert list(most_behind(rows, 3)["reporting_unit"]) == ["乙", "丙", "己"]
    assert list(most_behind(rows, 1)["reporting_unit"]) == ["丙"]  # 丙 and 己 both at 0: the larger target
    assert list(most_behind(rows, 4)["reporting_unit"]) == ["乙", "丙", "丁", "己"]
    assert most_behind(rows, 6).equals(rows)
