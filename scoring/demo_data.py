"""Demo data for the sample tax bureau: units, a plausible year of ledger entries, reviews.

Deterministic: the same seed, rulebook and ``today`` give the same data. Entries follow the
sample rulebook's logic: quantitative indicators lose points on some month-end results,
deductions and bonuses are occasional events worth the item's points per occurrence, a
few deductions are later reversed on review, and every unit gets a year-end review.
Nothing is dated after ``today``.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from db import scoring_store
from db.scoring_store import NewEntry, NewReview, UnitInfo
from knowledge.points import cents_of
from knowledge.rulebook import Cycle, Indicator, IndicatorType

DEMO_SEED = 2026
DEMO_BY = "示例数据"
SECTION, BRANCH = "股室", "派出机构"

DEMO_UNITS: tuple[UnitInfo, ...] = (
    UnitInfo("GS01", "办公室", SECTION),
    UnitInfo("GS02", "法制股", SECTION),
    UnitInfo("GS03", "税政股", SECTION),
    UnitInfo("GS04", "收入核算股", SECTION),
    UnitInfo("GS05", "纳税服务股", SECTION),
    UnitInfo("GS06", "征收管理股", SECTION),
    UnitInfo("GS07", "社会保险费和非税收入股", SECTION),
    UnitInfo("GS08", "风险管理股", SECTION),
    UnitInfo("GS09", "财务管理股", SECTION),
    UnitInfo("GS10", "人事教育股", SECTION),
    UnitInfo("PC01", "城区税务分局", BRANCH),
    UnitInfo("PC02", "开发区税务分局", BRANCH),
    UnitInfo("PC03", "城东税务所", BRANCH),
    UnitInfo("PC04", "城西税务所", BRANCH),
    UnitInfo("PC05", "高新区税务所", BRANCH),
    UnitInfo("PC06", "办税服务厅", BRANCH),
)

QUANTITATIVE_NOTES = (
    "{month}月考核结果：未达到序时目标",
    "{month}月考核结果：部分数据未达标",
    "{month}月考核结果：低于目标值",
)
DEDUCTION_NOTES = (
    "督查发现问题，责令整改",
    "抽查发现不规范情形",
    "系统监控预警未按期处理",
    "上级通报问题",
)
BONUS_NOTES = (
    "经验做法被上级转发推广",
    "获上级表扬",
    "信息被上级采用",
    "专项工作成效突出",
)
REVERSAL_NOTE = "经复核，扣分依据不足，予以冲正"
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class DemoData:
    """Generated units, entries (with external ids), reversals and reviews."""

    units: tuple[UnitInfo, ...]
    entries: list[NewEntry]
    reversals: list[str]  # external ids of entries later reversed on review
    reviews: list[NewReview]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _due(indicator: Indicator, month: int) -> bool:
    """Whether a quantitative indicator is assessed at the end of ``month``."""
    if indicator.cycle in (Cycle.QUARTER,):
        return month % 3 == 0
    if indicator.cycle is Cycle.HALF_YEAR:
        return month % 6 == 0
    if indicator.cycle is Cycle.YEAR:
        return month == 12
    return True


def generate_demo(
    indicators: Sequence[Indicator], *, year: int, today: date, seed: int = DEMO_SEED
) -> DemoData:
    """A plausible year (up to ``today``) of points for the demo units."""
    rng = random.Random(f"{seed}-{year}")
    # Each unit's "risk": how often it loses points, and how rarely it earns bonuses.
    risk = {u.code: rng.uniform(0.6, 1.3) for u in DEMO_UNITS}
    for weak in ("GS06", "PC04"):
        risk[weak] = rng.uniform(1.5, 1.8)
    entries: list[NewEntry] = []
    last_month = 12 if today.year > year else (today.month if today.year == year else 0)
    for month in range(1, last_month + 1):
        days = calendar.monthrange(year, month)[1]
        if today.year == year and month == today.month:
            days = today.day
        for unit in DEMO_UNITS:
            level = risk[unit.code]
            for item in indicators:
                owner = item.owner or "绩效办"
                if item.type is IndicatorType.QUANTITATIVE:
                    end = _month_end(year, month)
                    if end > today or not _due(item, month) or rng.random() > 0.22 * level:
                        continue
                    share = Decimal(str(rng.uniform(0.05, 0.3 * level)))
                    lost = max((item.points * share).quantize(TENTH), TENTH)
                    note = rng.choice(QUANTITATIVE_NOTES).format(month=month)
                    when, source = end, "绩效管理系统月度考核"
                elif item.type is IndicatorType.DEDUCTION:
                    # Serious items (uncapped, or 2+ points a time) are rare events.
                    severe = item.cap is None or item.points >= 2
                    if rng.random() > 0.05 * level * (0.1 if severe else 1):
                        continue
                    lost = item.points * rng.choice((1, 1, 1, 2, 3))
                    note = f"{item.name}：{rng.choice(DEDUCTION_NOTES)}"
                    when, source = date(year, month, rng.randint(1, days)), "督查通报"
                else:
                    if rng.random() > 0.035 * (2.0 - level):
                        continue
                    lost = item.points * rng.choice((1, 1, 2))
                    note = f"{item.name}：{rng.choice(BONUS_NOTES)}"
                    when, source = date(year, month, rng.randint(1, days)), "加分申报审核"
                entries.append(
                    NewEntry(
                        entry_date=when,
                        unit_code=unit.code,
                        indicator_code=item.code,
                        points_cents=cents_of(lost),
                        entered_by=owner,
                        note=note,
                        source=source,
                        external_id=f"DEMO-{year}-{len(entries) + 1:05d}",
                    )
                )
    entries.sort(key=lambda e: (e.entry_date, e.external_id or ""))
    deductions = {i.code for i in indicators if i.type is IndicatorType.DEDUCTION}
    reversals = [
        e.external_id
        for e in entries
        if e.indicator_code in deductions and e.external_id and rng.random() < 0.04
    ]
    reviews = [
        NewReview(
            year=year,
            unit_code=unit.code,
            score_cents=cents_of(
                Decimal(
                    str(rng.uniform(96 - 8 * risk[unit.code], 99 - 4 * risk[unit.code]))
                ).quantize(Decimal("0.01"))
            ),
            entered_by="年终评议小组",
            source="年终评议",
        )
        for unit in DEMO_UNITS
    ]
    return DemoData(DEMO_UNITS, entries, [r for r in reversals if r], reviews)


@dataclass(frozen=True)
class DemoSeed:
    """What seeding wrote."""

    year: int
    units: int
    entries: int
    reversals: int
    reviews: int


def seed_demo(
    *, session: Session, indicators: Sequence[Indicator], year: int, today: date
) -> DemoSeed:
    """Write the demo units, entries, reversals and reviews in the caller's transaction."""
    data = generate_demo(indicators, year=year, today=today)
    scoring_store.upsert_units(session=session, units=data.units)
    scoring_store.insert_entries(session=session, entries=data.entries)
    originals = {e.external_id: e for e in data.entries}
    for external_id in data.reversals:
        record = scoring_store.entry_by_external_id(session=session, external_id=external_id)
        if record is None or record.id is None:
            raise LookupError(f"demo entry {external_id} was not recorded")
        original = originals[external_id]
        scoring_store.add_entry(
            session=session,
            entry=NewEntry(
                entry_date=original.entry_date,
                unit_code=original.unit_code,
                indicator_code=original.indicator_code,
                points_cents=-original.points_cents,
                entered_by="绩效办",
                note=REVERSAL_NOTE,
                source="冲正",
                reverses_id=record.id,
            ),
        )
    scoring_store.insert_reviews(session=session, reviews=data.reviews)
    return DemoSeed(
        year, len(data.units), len(data.entries), len(data.reversals), len(data.reviews)
    )
