"""Reliability of what comes in: the number corpus and the hostile files.

    python -m benchmarks.reliability_input

Each area function returns ``(area, tried, passed, failed)`` for the reliability table
(``benchmarks/bench_reliability.py``). Run alone, this module prints those rows, the
lenient baseline the strict parser replaced (``Decimal`` after NFKC, commas and spaces
removed: what kpibot did before), and the cost of refusing each hostile file.
"""

from __future__ import annotations

import sys
import tempfile
import unicodedata
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.numbers import MAX_POINTS, NumberError, parse_number  # noqa: E402
from tests.adversarial import (  # noqa: E402
    BOMBS,
    MAX_PEAK_BYTES,
    MAX_SECONDS,
    Outcome,
    probe_many,
)

CORPUS = ROOT / "tests" / "data" / "numbers.yaml"
Row = tuple[str, int, int, int]


def _corpus() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return [tuple(c) for c in data["accepted"]], [tuple(c) for c in data["refused"]]


def _strict(text: str) -> Decimal | None:
    try:
        return parse_number(text, limit=MAX_POINTS)
    except NumberError:
        return None


def _lenient(text: str) -> Decimal | None:
    """The parser kpibot had before: forgiving, and wrong about 1,5 and 1e3."""
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _score(parse: object, area: str) -> Row:
    assert callable(parse)
    accepted, refused = _corpus()
    passed = sum(1 for written, value in accepted if parse(written) == Decimal(value))
    passed += sum(1 for written, _ in refused if parse(written) is None)
    tried = len(accepted) + len(refused)
    return (area, tried, passed, tried - passed)


def numbers() -> Row:
    """The corpus through the strict parser: accepted exactly, or refused."""
    return _score(_strict, "numbers")


def numbers_baseline() -> Row:
    """The same corpus through the lenient parser kpibot used before (the baseline)."""
    return _score(_lenient, "numbers (baseline: lenient Decimal)")


def _bomb_outcomes(database_url: str | None = None) -> list[tuple[str, int, Outcome]]:
    with tempfile.TemporaryDirectory(prefix="kpibot-bombs-") as folder:
        base = Path(folder)
        url = database_url or f"sqlite:///{base / 'bombs.db'}"
        runs = []
        for bomb in BOMBS:
            path = base / bomb.file
            bomb.make(path)
            runs.append((bomb.command, path))
        outcomes = probe_many(url, runs)
        return [
            (bomb.name, path.stat().st_size, outcome)
            for bomb, (_, path), outcome in zip(BOMBS, runs, outcomes, strict=True)
        ]


def _refused_well(outcome: Outcome) -> bool:
    lines = outcome.err.splitlines()
    return (
        outcome.code == 1
        and bool(lines)
        and lines[0].startswith("发现")
        and len(lines) <= 32
        and "Traceback" not in outcome.err
        and 0 <= outcome.seconds < MAX_SECONDS
        and outcome.peak_bytes < MAX_PEAK_BYTES
    )


def bombs(database_url: str | None = None) -> Row:
    """Hostile files under 10 MB, each refused with one clear list, < 60 s, < 1 GB."""
    outcomes = _bomb_outcomes(database_url)
    passed = sum(1 for _, _, outcome in outcomes if _refused_well(outcome))
    return ("bombs", len(outcomes), passed, len(outcomes) - passed)


def main() -> None:
    """Print the rows, then each hostile file's cost."""
    print("| area | tried | passed | failed |")
    print("|---|---:|---:|---:|")
    for area, tried, passed, failed in (numbers(), numbers_baseline()):
        print(f"| {area} | {tried} | {passed} | {failed} |")
    outcomes = _bomb_outcomes()
    passed = sum(1 for _, _, o in outcomes if _refused_well(o))
    print(f"| bombs | {len(outcomes)} | {passed} | {len(outcomes) - passed} |")
    print()
    print("| hostile file | size | refused in | peak RSS | first problem |")
    print("|---|---:|---:|---:|---|")
    for name, size, outcome in outcomes:
        lines = outcome.err.splitlines()
        first = lines[1].strip(" -") if len(lines) > 1 else outcome.err.strip()
        print(
            f"| {name} | {size / 1024:,.0f} KB | {outcome.seconds:.2f} s "
            f"| {outcome.peak_bytes / 2**20:,.0f} MB | {first[:70]} |"
        )


if __name__ == "__main__":
    main()
