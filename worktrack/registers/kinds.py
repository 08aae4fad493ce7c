"""The three registers: their columns (Chinese header, English aliases), types and fixed choices."""

from __future__ import annotations

import re
from dataclasses import dataclass

from worktrack.intake.values import COLUMN_LABELS as REPORT_LABELS
from worktrack.intake.values import HEADER_ALIASES as REPORT_ALIASES
from worktrack.plan import REGISTER_MEASURES

REGISTER_KINDS = tuple(REGISTER_MEASURES)
MONTHLY_REPORT = "monthly_report"
RETROFIT_CATEGORIES = ("特困", "低保", "高龄", "失能", "其他")
DONOR_TYPES = ("个人", "单位", "匿名")


@dataclass(frozen=True)
class Column:
    """One register column. kind: unit, month, text, name, id_number, choice, plan_choice, money, date, note."""

    key: str
    label: str
    kind: str
    required: bool
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    hint: str = ""  # what to write, for the template's 填表说明


@dataclass(frozen=True)
class RegisterKind:
    id: str
    title: str  # 适老化改造台账
    columns: tuple[Column, ...]
    # Columns whose presence in a header says "this is that register" (every one must be there).
    signature: tuple[str, ...]

    @property
    def labels(self) -> dict[str, str]:
        return {c.key: c.label for c in self.columns}

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.lower())


_UNIT = Column("reporting_unit", REPORT_LABELS["reporting_unit"], "unit", True,
               tuple(a for a, c in REPORT_ALIASES.items() if c == "reporting_unit"),
               hint="本社区名称，如 天剑社区；可留空（按上传时选择的单位）")
_MONTH = Column("month", REPORT_LABELS["month"], "month", True,
                tuple(a for a, c in REPORT_ALIASES.items() if c == "month"),
                hint="登记月份，如 2023-06；可留空（按上传时选择的月份）")
_NOTE = Column("note", "备注", "note", False, ("备注", "说明", "note", "notes", "remark", "remarks"))

KINDS: dict[str, RegisterKind] = {k.id: k for k in (
    RegisterKind("retrofit_register", "适老化改造台账", (
        _UNIT, _MONTH,
        Column("address", "住址", "text", True, ("住址", "家庭住址", "地址", "address"), hint="门牌号写到户"),
        Column("person_name", "老人姓名", "name", True, ("老人姓名", "姓名", "elder_name", "name")),
        Column("id_number", "身份证号", "id_number", True, ("身份证号", "身份证号码", "公民身份号码", "id_number",
                                                            "id_card"), hint="18 位，末位可为 X；系统只保存加密哈希和遮挡后的号码"),
        Column("category", "对象类别", "choice", True, ("对象类别", "类别", "老人类别", "category"),
               RETROFIT_CATEGORIES),
        Column("items", "改造项目", "text", True, ("改造项目", "改造内容", "items"), hint="如 扶手、防滑、呼叫设备"),
        Column("cost", "改造费用（元）", "money", False, ("改造费用", "费用", "金额", "cost")),
        Column("contractor", "施工单位", "text", False, ("施工单位", "施工方", "contractor")),
        Column("completed_on", "完工日期", "date", False, ("完工日期", "完成日期", "completed_on", "completed")),
        Column("event_date", "验收日期", "date", False, ("验收日期", "accepted_on", "acceptance_date", "accepted"),
               hint="验收通过的日期；未验收的留空，不计入户数"),
        _NOTE,
    ), ("id_number", "items")),
    RegisterKind("donation_register", "基金募集台账", (
        _UNIT, _MONTH,
        Column("donor", "捐赠方", "name", True, ("捐赠方", "捐赠人", "捐赠单位", "捐赠人/单位", "donor"),
               hint="个人姓名、单位名称，或 匿名"),
        Column("donor_type", "捐赠方类型", "choice", True, ("捐赠方类型", "捐赠人类型", "donor_type"), DONOR_TYPES),
        Column("category", "募集渠道", "plan_choice", True, ("募集渠道", "渠道", "channel")),
        Column("cash", "现金金额（元）", "money", False, ("现金金额", "现金", "善款", "捐款金额", "cash")),
        Column("goods", "物资名称", "text", False, ("物资名称", "物资", "捐赠物资", "goods")),
        Column("goods_value", "物资折价（元）", "money", False, ("物资折价", "物资价值", "折价", "goods_value")),
        Column("event_date", "捐赠日期", "date", True, ("捐赠日期", "日期", "donated_on", "date")),
        Column("receipt", "收据编号", "text", True, ("收据编号", "收据号", "票据编号", "receipt", "receipt_no")),
        _NOTE,
    ), ("donor", "receipt")),
    RegisterKind("help_register", "帮扶台账", (
        _UNIT, _MONTH,
        Column("person_name", "姓名", "name", True, ("姓名", "受助人", "受助人姓名", "帮扶对象", "name")),
        Column("id_number", "身份证号", "id_number", True, ("身份证号", "身份证号码", "公民身份号码", "id_number",
                                                            "id_card"), hint="18 位，末位可为 X；系统只保存加密哈希和遮挡后的号码"),
        Column("category", "帮扶类别", "plan_choice", True, ("帮扶类别", "类别", "aid_category", "category")),
        Column("cash", "帮扶金额（元）", "money", False, ("帮扶金额", "金额", "amount")),
        Column("service", "服务内容", "text", False, ("服务内容", "帮扶内容", "service")),
        Column("event_date", "帮扶日期", "date", True, ("帮扶日期", "日期", "helped_on", "date")),
        Column("project", "基金项目", "text", False, ("基金项目", "项目", "project")),
        _NOTE,
    ), ("id_number", "category")),
)}


def header_aliases(kind: RegisterKind) -> dict[str, str]:
    """Folded alias -> column key, for one register (the same folding as the monthly report's)."""
    aliases: dict[str, str] = {}
    for column in kind.columns:
        for alias in (column.label, *column.aliases):
            aliases.setdefault(_fold(re.sub(r"[(（][^()（）]*[)）]\s*$", "", alias)), column.key)
    return aliases
