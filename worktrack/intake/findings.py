"""The findings catalogue: stable codes, the Finding / FactRow / IntakeReport records."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Finding:
    """One error, warning or normalisation, located as Excel shows it (header = row 1)."""

    code: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "row": self.row, "column": self.column, "value": self.value,
                "message": self.message}


@dataclass(frozen=True)
class FactRow:
    """One accepted row: a metric value (value set) or a task status (status set)."""

    reporting_unit: str
    month: str  # YYYY-MM
    item: str
    category: str  # "" when the item has no categories
    value: float | None
    status: str | None
    note: str
    row: int  # Excel row number in the source file


@dataclass
class IntakeReport:
    """The outcome of reading one file: rows if clean, and every finding."""

    file: str
    sha256: str
    size: int
    reporting_unit: str | None = None
    month: str | None = None
    rows: list[FactRow] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    normalised: list[Finding] = field(default_factory=list)
    file_format: str | None = None  # "csv" | "xlsx" once sniffed
    encoding: str | None = None  # CSV only: utf-8, utf-8-sig, gb18030, utf-16
    omitted: dict[str, int] = field(default_factory=dict)  # findings beyond MAX_FINDINGS, per kind
    plan_id: str | None = None  # the plan the file was read against (plan.id)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def needs_confirmation(self) -> bool:
        return not self.errors and bool(self.warnings)

    def flat(self, kind: Literal["errors", "warnings", "normalised"] = "errors") -> list[tuple]:
        """(code, row, column) triples, the form tests assert on."""
        return [(f.code, f.row, f.column) for f in getattr(self, kind)]

    def codes(self, kind: Literal["errors", "warnings", "normalised"] = "errors") -> set[str]:
        """The distinct codes of one kind of finding."""
        return {f.code for f in getattr(self, kind)}

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "reporting_unit": self.reporting_unit,
                "month": self.month, "rows": [asdict(r) for r in self.rows],
                "errors": [f.as_dict() for f in self.errors], "warnings": [f.as_dict() for f in self.warnings],
                "normalised": [f.as_dict() for f in self.normalised], "omitted": dict(self.omitted)}


MAX_FINDINGS = 200  # per kind; the rest are counted (IntakeReport.omitted) and summed up in one finding


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of the uploaded bytes (the identity of an upload)."""
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# The catalogue: stable codes and what they mean (the UI may show these titles)

ERROR_CODES: dict[str, str] = {
    "file-too-large": "文件过大（上传大小、解压后大小或行数超过上限）",
    "empty-file": "文件是空的",
    "format-error": "不是 CSV 或 XLSX 表格（按内容识别，如 PDF、ZIP、旧版 .xls、损坏的文件）",
    "xml-bomb": "XLSX 内含 DTD/实体声明（XML 炸弹等恶意内容），拒收",
    "encoding-error": "无法识别的文字编码",
    "delimiter-error": "分隔符不是英文逗号（分号、制表符、全角逗号）",
    "quote-error": "引号没有闭合",
    "header-not-found": "找不到表头",
    "missing-label": "缺少必填列",
    "blank-label": "有数据的列没有表头",
    "duplicate-label": "表头重复",
    "extra-cell": "一行的单元格比表头多（常见于未加引号的千位逗号 1,000）",
    "merged-cell": "数值单元格被合并，无法判断属于哪一行",
    "no-data": "只有表头，没有数据行",
    "missing-value": "必填的单元格为空",
    "unknown-unit": "不认识的上报单位",
    "unit-mismatch": "上报单位与声明的单位或登录单位不一致",
    "month-error": "月份无法识别或不在计划报告期内",
    "month-mismatch": "月份与声明的月份或其他行不一致",
    "unknown-item": "不认识的编号",
    "wrong-plan": "文件看起来属于另一个工作计划",
    "item-not-reported": "本单位不报送这个事项",
    "unknown-category": "不认识的分类，或该事项不分类",
    "missing-category": "该事项需要填写分类",
    "type-error": "不是数字（中文数字、科学计数法、公式等）",
    "constraint-error": "数值不合要求（负数、计数类事项的小数、过大）",
    "unit-suffix-mismatch": "数值后的单位或计量单位列与事项的计量单位不符",
    "status-error": "状态不是允许的词",
    "duplicate-row": "同一事项（及分类）重复填写",
    "conflicting-row": "同一事项（及分类）填了两个不同的值",
    "total-row": "合计行与各行之和不符",
    "note-too-long": "备注超过 500 字",
    "id-number-in-note": "备注里有身份证号（个人信息不进月报，请记入台账）",
    "internal-error": "系统内部错误（已记录在日志中，请联系管理员）",
    "cell-too-long": "单元格内容超过 32767 个字符（Excel 单元格的上限）",
    "encrypted-file": "文件设置了密码，需要取消密码后再上传",
    "findings-truncated": "问题太多，只列出前 200 条",
}

# Codes only a register (台账) file produces; part of the one catalogue, exemplified in test_registers.
REGISTER_ERROR_CODES: dict[str, str] = {
    "id-number-error": "身份证号无效（位数、出生日期或校验位不对）",
    "date-error": "日期无法识别，或晚于登记月份",
    "unknown-choice": "不是允许的选项（如对象类别、捐赠方类型）",
}
ERROR_CODES.update(REGISTER_ERROR_CODES)

WARNING_CODES: dict[str, str] = {
    "extra-label": "不认识的列，将被忽略",
    "blank-row": "数据中间有空行",
    "large-value": "数值远超月度需要（可能误填了累计数或多打了 0）",
    "empty-report": "所有数值都为空或 0",
    "multiple-sheets": "工作簿里有多张像月报的工作表，只读取了第一张",
}

NORMALISATION_CODES: dict[str, str] = {
    "normalised-encoding": "按 GB18030 / UTF-16 读取",
    "normalised-bom": "去掉了文件开头的 BOM 标记",
    "normalised-line-endings": "CRLF 或混合换行",
    "normalised-sep-line": "跳过 Excel 的 sep= 提示行",
    "normalised-sheet": "读取的不是第一张工作表",
    "normalised-title-row": "跳过表头上方的标题行",
    "normalised-merged-cells": "合并单元格已按其内容填充",
    "normalised-header-alias": "表头别名（英文、括号、空格）已识别",
    "normalised-column-order": "列的顺序与模板不同",
    "normalised-trailing-rows": "去掉了末尾的空行",
    "normalised-whitespace": "去掉了多余空格、不间断空格或零宽字符",
    "normalised-fullwidth": "全角数字/符号已转为半角",
    "normalised-thousands": "去掉了千位分隔符",
    "normalised-unit-suffix": "去掉了与计量单位一致的后缀（5户）",
    "normalised-wan": "“万”已乘以 10000",
    "normalised-currency": "去掉了 ¥ 等货币符号",
    "normalised-plus-sign": "去掉了数值前的 + 号",
    "normalised-formula-result": "公式单元格取 Excel 保存的计算结果",
    "normalised-month": "月份写法已统一为 YYYY-MM",
    "normalised-status": "状态别名已统一",
    "normalised-unit-alias": "单位简称已识别",
    "traditional-unit": "繁体单位名称已识别",
    "normalised-item-case": "编号大小写已统一",
    "normalised-item-by-name": "编号为空，按事项名称唯一识别",
    "normalised-blank-as-zero": "数值为空（或 无、-、NA），按 0 记录",
    "normalised-blank-status": "状态为空，本月不更新该任务",
    "normalised-total-row": "合计行与各行之和一致，已去掉",
}

# A monthly report's note about a figure counted from the unit's register (worktrack.registers.monthly):
# the typed value is not used. Exemplified in test_registers_upload.
REGISTER_NORMALISATION_CODES: dict[str, str] = {
    "register-figure": "该指标由台账统计，填写的数值不计入",
}
NORMALISATION_CODES.update(REGISTER_NORMALISATION_CODES)

