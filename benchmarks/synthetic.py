"""A synthetic rulebook of N indicators: the 48 real ones plus plausible generated distractors."""

from __future__ import annotations

import random
from decimal import Decimal

import jieba

from knowledge.rulebook import Faq, Indicator, IndicatorType, Interpretation, Level, Rulebook

SUFFIXES = (
    "完成率",
    "办结率",
    "差错",
    "逾期",
    "推广",
    "整改",
    "覆盖率",
    "准确率",
    "及时率",
    "规范",
    "考核",
    "达标率",
    "落实",
    "质量",
    "时限",
)
KINDS = (IndicatorType.QUANTITATIVE, IndicatorType.BONUS, IndicatorType.DEDUCTION)


def synthetic_rulebook(real: Rulebook, size: int, *, seed: int = 7) -> Rulebook:
    """``real``'s indicators plus ``size - len(real)`` generated ones, shuffled by a fixed seed."""
    rng = random.Random(seed)
    words: list[str] = []
    for item in real.indicators:
        texts = [item.standard, *(i.text for i in item.interpretations), *(f.a for f in item.faq)]
        for text in texts:
            words += [w for w in jieba.lcut(text) if len(w) >= 2]
    nouns = sorted({w for w in words if len(w) in (2, 3, 4)})
    categories = sorted({i.category for i in real.indicators if i.category})
    generated: list[Indicator] = []
    for n in range(size - len(real.indicators)):
        name = rng.choice(nouns) + rng.choice(nouns) + rng.choice(SUFFIXES)

        def sentence(length: int) -> str:
            return "".join(rng.choice(words) for _ in range(length)) + "。"

        generated.append(
            Indicator(
                code=f"SY-{n:05d}",
                name=name,
                type=rng.choice(KINDS),
                points=Decimal(rng.choice(("0.5", "1", "2", "5", "10"))),
                category=rng.choice(categories),
                standard=sentence(30),
                aliases=tuple(rng.choice(nouns) + rng.choice(SUFFIXES) for _ in range(2)),
                interpretations=tuple(Interpretation(level, sentence(20)) for level in Level),
                faq=(Faq(sentence(8), sentence(15)),),
            )
        )
    indicators = list(real.indicators) + generated
    rng.shuffle(indicators)
    return Rulebook(title=f"合成细则（{size} 项）", year=real.year, indicators=tuple(indicators))
