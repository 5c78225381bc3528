"""Build ``knowledge/data/question_style.npz`` from the labelled rulebooks' questions.

Run by a developer after adding or changing a labelled set (``tests/data/rulebooks/``;
``tests/test_style.py`` fails until then): every labelled question, in scope or out of scope,
is one example of how questions about the appraisal are asked, and every service question
around a rulebook's terms and every question of the out-of-scope bank one of how they are not
(see :mod:`knowledge.style`).
Measurements fit a model without the rulebook they measure.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.holdout import labelled_rulebooks, style_examples
from knowledge.style import DATA, fit_style, write_style

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    books = labelled_rulebooks(ROOT)
    examples = style_examples(books)
    model = fit_style(examples)
    write_style(model)
    off = sum(1 for _, o in examples if o)
    print(
        f"{len(examples)} questions of {len(books)} rulebooks and the bank ({off} out of scope): "
        f"{len(model.keys)} n-grams -> {DATA.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
