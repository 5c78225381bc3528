"""Rulebooks shipped with kpibot."""

from pathlib import Path

SAMPLE_RULEBOOK = Path(__file__).with_name("tax_bureau_2026.yaml")
