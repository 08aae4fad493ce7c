"""The public notice (公示) of a community's fund for a quarter or a month, from its registers.

An A4 PDF for the 居务公开栏 and a PNG for the WeChat group, both printed from one HTML page by the
headless Chromium the meeting pack uses (`worktrack.meeting.pdf.print_html`), with the CJK font
embedded by Chromium. What it says, all counted from the unit's active register rows:
- donations received in the period, one line each: the donor as the public may read it (an
  individual masked 张*明, an organisation by name, 匿名), channel, cash, goods with valuation, date,
  receipt number; totals of cash and goods apart;
- money spent (帮扶金额) in the period by fund project and by aid category;
- people helped in the period: a count of distinct people, never a name;
- the cash balance: cash received minus cash spent, before the period, in it, and at its end (goods
  are listed with their valuation but are not cash and are not in the balance);
- the 公示期 (from the start date, NOTICE_DAYS days) and whom to contact with objections.
The notice is in Chinese: it is posted for residents. Nothing in it identifies a person helped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

NOTICE_DAYS = 7
PNG_WIDTH = 1080
_PERIOD = re.compile(r"^(\d{4})[Qq]([1-4])$")
NO_PROJECT = "未注明项目"


@dataclass(frozen=True)
class Period:
    label: str  # 2023年第三季度 / 2023年9月
    first: dt.date
    last: dt.date


def parse_period(text: str) -> Period | None:
    """2023Q3 (a quarter) or a month in any accepted spelling (2023-09, 2023年9月); None otherwise."""
    from worktrack.intake import parse_month

    text = (text or "").strip()
    quarter = _PERIOD.match(text)
    if quarter:
        year, number = int(quarter.group(1)), int(quarter.group(2))
        first = dt.date(year, 3 * number - 2, 1)
        last = _month_end(year, 3 * number)
        return Period(f"{year}年第{'一二三四'[number - 1]}季度", first, last)
    month = parse_month(text)
    if month is None:
        return None
    year, number = int(month[:4]), int(month[5:])
    return Period(f"{year}年{number}月", dt.date(year, number, 1), _month_end(year, number))


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


@dataclass
class Notice:
    """The figures of one notice (numbers only; `notice_html` says them)."""

    unit: str
    period: Period
    donations: list[dict[str, str | float | None]] = field(default_factory=list)
    cash_received: float = 0.0
    goods_received: float = 0.0
    spent_by_project: list[tuple[str, float, int]] = field(default_factory=list)  # (project, cash, helps)
    spent_by_category: list[tuple[str, float, int]] = field(default_factory=list)  # (aid category, cash, helps)
    cash_spent: float = 0.0
    persons_helped: int = 0
    opening_balance: float = 0.0
    closing_balance: float = 0.0
    notice_from: dt.date = dt.date(2000, 1, 1)
    notice_to: dt.date = dt.date(2000, 1, 1)
    contact: str = ""
    issuer: str = ""


def _dated(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows[rows["event_date"].notna()].copy()
    rows["day"] = pd.to_datetime(rows["event_date"]).dt.date
    return rows


def build_notice(rows: pd.DataFrame, unit: str, period: Period, *, start: dt.date, contact: str, issuer: str,
                 days: int = NOTICE_DAYS) -> Notice:
    """The notice of `unit` for `period` from register rows (`Store.register_rows()`: active versions)."""
    mine = rows[rows["reporting_unit"] == unit] if len(rows) else rows
    notice = Notice(unit, period, notice_from=start, notice_to=start + dt.timedelta(days=days - 1), contact=contact,
                    issuer=issuer)
    donations = _dated(mine[mine["kind"] == "donation_register"]) if len(mine) else pd.DataFrame()
    helps = _dated(mine[mine["kind"] == "help_register"]) if len(mine) else pd.DataFrame()
    if len(donations):
        # a receipt number counts once per unit (as in the counts): the first row of each receipt
        donations["receipt"] = [json.loads(f or "{}").get("receipt", "") for f in donations["fields"]]
        donations = donations.sort_values(["day", "upload_id", "source_row"]).drop_duplicates("receipt")
        before = donations[donations["day"] < period.first]
        inside = donations[(donations["day"] >= period.first) & (donations["day"] <= period.last)]
        for row in inside.itertuples(index=False):
            fields = json.loads(row.fields or "{}")
            notice.donations.append({"donor": row.name_masked, "channel": row.category,
                                     "cash": _amount(row.cash), "goods": fields.get("goods", ""),
                                     "goods_value": _amount(row.goods_value), "date": row.day.isoformat(),
                                     "receipt": fields.get("receipt", "")})
        notice.cash_received = float(inside["cash"].fillna(0).sum())
        notice.goods_received = float(inside["goods_value"].fillna(0).sum())
        cash_before = float(before["cash"].fillna(0).sum())
    else:
        cash_before = 0.0
    spent_before = 0.0
    if len(helps):
        helps["project"] = [json.loads(f or "{}").get("project") or NO_PROJECT for f in helps["fields"]]
        before = helps[helps["day"] < period.first]
        inside = helps[(helps["day"] >= period.first) & (helps["day"] <= period.last)]
        spent_before = float(before["cash"].fillna(0).sum())
        notice.cash_spent = float(inside["cash"].fillna(0).sum())
        notice.spent_by_project = _sums(inside, "project")
        notice.spent_by_category = _sums(inside, "category")
        notice.persons_helped = int(inside["person_key"].nunique())
    notice.opening_balance = cash_before - spent_before
    notice.closing_balance = notice.opening_balance + notice.cash_received - notice.cash_spent
    return notice


def _amount(value: float | None) -> float | None:
    return None if value is None or value != value else float(value)


def _sums(rows: pd.DataFrame, column: str) -> list[tuple[str, float, int]]:
    """(group, cash spent, helps given: 人次, services included) per group, largest amount first."""
    groups = rows.groupby(column, sort=False)
    cash = groups["cash"].apply(lambda s: float(s.fillna(0).sum()))
    times = groups.size()
    return sorted(((str(k), cash[k], int(times[k])) for k in cash.index), key=lambda kv: (-kv[1], -kv[2], kv[0]))


def yuan(value: float | None) -> str:
    """12,000.00 元; an empty cell for no amount."""
    return "" if value is None else f"{value:,.2f} 元"


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def notice_html(notice: Notice, *, page: str = "a4") -> str:
    """The notice as one HTML page: page="a4" for printing, "png" for a 1080-px-wide image."""
    e = html.escape
    donation_rows = "".join(
        f"<tr><td>{e(d['donor'])}</td><td>{e(d['channel'])}</td><td class=n>{e(yuan(d['cash']))}</td>"
        f"<td>{e(d['goods'])}</td><td class=n>{e(yuan(d['goods_value']))}</td><td>{e(d['date'])}</td>"
        f"<td>{e(d['receipt'])}</td></tr>" for d in notice.donations) or "<tr><td colspan=7>本期无捐赠</td></tr>"
    project_rows = "".join(f"<tr><td>{e(k)}</td><td class=n>{e(yuan(v))}</td><td class=n>{n} 人次</td></tr>"
                           for k, v, n in notice.spent_by_project) or "<tr><td colspan=3>本期无帮扶</td></tr>"
    category_rows = "".join(f"<tr><td>{e(k)}</td><td class=n>{e(yuan(v))}</td><td class=n>{n} 人次</td></tr>"
                            for k, v, n in notice.spent_by_category) or "<tr><td colspan=3>本期无帮扶</td></tr>"
    size = "@page { size: A4; margin: 16mm 14mm; }" if page == "a4" else \
        f"html, body {{ width: {PNG_WIDTH}px; margin: 0; }} body {{ padding: 36px 40px; box-sizing: border-box; }}"
    font = "10.5pt" if page == "a4" else "22px"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(notice.unit)}{e(notice.period.label)}基金公示</title>
<style>
{size}
body {{ font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
        "Microsoft YaHei", sans-serif; font-size: {font}; color: #111; background: #fff; }}
h1 {{ text-align: center; font-size: 1.7em; margin: 0 0 0.2em; letter-spacing: 0.1em; }}
.sub {{ text-align: center; margin: 0 0 1em; color: #333; }}
h2 {{ font-size: 1.15em; border-left: 5px solid #b22222; padding-left: 0.5em; margin: 1.1em 0 0.4em; }}
table {{ width: 100%; border-collapse: collapse; }}
th, td {{ border: 1px solid #888; padding: 0.25em 0.45em; text-align: left; }}
th {{ background: #f2f2f2; }}
td.n, th.n {{ text-align: right; white-space: nowrap; }}
.totals td {{ font-weight: bold; }}
.key {{ display: flex; gap: 1em; margin: 0.4em 0; }}
.key div {{ flex: 1; border: 1px solid #888; padding: 0.5em; text-align: center; }}
.key b {{ display: block; font-size: 1.35em; }}
.foot {{ margin-top: 1.2em; line-height: 1.7; }}
</style></head><body>
<h1>{e(notice.unit)}基金公示</h1>
<p class="sub">公示期间：{e(notice.period.label)}（{_day(notice.period.first)}至{_day(notice.period.last)}）</p>
<div class="key">
  <div>本期收到现金捐赠<b id="cash-received">{e(yuan(notice.cash_received))}</b></div>
  <div>本期收到物资（折价）<b id="goods-received">{e(yuan(notice.goods_received))}</b></div>
  <div>本期帮扶支出<b id="cash-spent">{e(yuan(notice.cash_spent))}</b></div>
  <div>本期帮扶人数<b id="people-helped">{notice.persons_helped} 人</b></div>
</div>
<h2>一、捐赠收入明细（个人捐赠者姓名已遮挡）</h2>
<table><tr><th>捐赠方</th><th>渠道</th><th class=n>现金</th><th>物资</th><th class=n>物资折价</th><th>日期</th><th>收据编号</th></tr>
{donation_rows}
<tr class="totals"><td colspan=2>合计</td><td class=n>{e(yuan(notice.cash_received))}</td><td></td>
<td class=n>{e(yuan(notice.goods_received))}</td><td colspan=2></td></tr></table>
<h2>二、帮扶支出（按基金项目）</h2>
<table><tr><th>基金项目</th><th class=n>支出金额</th><th class=n>帮扶（含服务）</th></tr>{project_rows}</table>
<h2>三、帮扶支出（按帮扶类别）</h2>
<table><tr><th>帮扶类别</th><th class=n>支出金额</th><th class=n>帮扶（含服务）</th></tr>{category_rows}</table>
<h2>四、帮扶人数与资金结余</h2>
<table>
<tr><td>本期帮扶人数（同一人只计一次，不公布姓名）</td><td class=n>{notice.persons_helped} 人</td></tr>
<tr><td>期初现金结余</td><td class=n>{e(yuan(notice.opening_balance))}</td></tr>
<tr><td>本期现金收入</td><td class=n>{e(yuan(notice.cash_received))}</td></tr>
<tr><td>本期现金支出</td><td class=n>{e(yuan(notice.cash_spent))}</td></tr>
<tr class="totals"><td>期末现金结余</td><td class=n id="closing-balance">{e(yuan(notice.closing_balance))}</td></tr>
</table>
<p class="foot">公示期：{_day(notice.notice_from)}至{_day(notice.notice_to)}。公示期内如有异议，请向{e(notice.contact)}反映。<br>
物资按捐赠时的折价列示，不计入现金结余。数据来自本社区上报的基金募集台账和帮扶台账。<br>
{e(notice.issuer)}　{_day(notice.notice_from)}</p>
</body></html>"""


def png_height(notice: Notice) -> int:
    """A window taller than the PNG's content (Chromium screenshots the window, not the page); the
    white space below the content is cut off afterwards (`_trim_bottom`)."""
    lines = max(len(notice.donations), 1) + max(len(notice.spent_by_project), 1) + max(len(notice.spent_by_category), 1)
    return 1600 + 80 * lines


def _trim_bottom(data: bytes, margin: int = 40) -> bytes:
    """The screenshot without the blank window below the content (a margin kept)."""
    import io

    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        box = ImageOps.invert(image.convert("L")).getbbox()  # the non-white part
        if box is None:
            return data
        bottom = min(image.height, box[3] + margin)
        out = io.BytesIO()
        image.crop((0, 0, image.width, bottom)).save(out, format="PNG")
        return out.getvalue()


def notice_bytes(notice: Notice, fmt: str = "pdf") -> bytes:
    """The notice as A4 PDF or PNG bytes; meeting.pdf.ExportUnavailable when Chromium or CJK fonts are missing."""
    from worktrack.meeting.pdf import print_html

    with tempfile.TemporaryDirectory(prefix="worktrack-notice-") as tmp:
        output = Path(tmp) / f"notice.{fmt}"
        if fmt == "png":
            print_html(notice_html(notice, page="png"), output, screenshot=(PNG_WIDTH, png_height(notice)))
            return _trim_bottom(output.read_bytes())
        print_html(notice_html(notice, page="a4"), output)
        return output.read_bytes()


def notice_filename(unit: str, period_text: str, fmt: str) -> str:
    """天剑社区-2023Q3-基金公示.pdf"""
    return f"{unit}-{period_text}-基金公示.{fmt}"


def notice_contact(plan: Any) -> str:
    """Whom residents contact with objections: the WORKTRACK_NOTICE_CONTACT setting, else the street office."""
    from worktrack import config
    from worktrack.cycle import default_contact

    return config.settings().notice_contact or default_contact(plan)


def notice_periods(months: list[str] | tuple[str, ...], through: str) -> list[str]:
    """Periods a notice can cover up to `through`, newest first: each month and each quarter begun."""
    shown = [m for m in months if m <= through]
    quarters = sorted({f"{m[:4]}Q{(int(m[5:]) - 1) // 3 + 1}" for m in shown}, reverse=True)
    out: list[str] = []
    for quarter in quarters:
        out.append(quarter)
        year, number = int(quarter[:4]), int(quarter[5])
        out += [m for m in sorted(shown, reverse=True) if int(m[:4]) == year and (int(m[5:]) - 1) // 3 + 1 == number]
    return out


def make_notice(store: Any, plan: Any, unit: str, period_text: str, fmt: str, start: dt.date) -> bytes:
    """The notice of a unit for a period (2023Q3 or 2023-09) as PDF or PNG bytes, from the store's registers."""
    period = parse_period(period_text)
    if period is None:
        raise ValueError(f"period {period_text!r}")
    notice = build_notice(store.register_rows(), unit, period, start=start, contact=notice_contact(plan), issuer=unit)
    return notice_bytes(notice, fmt)
