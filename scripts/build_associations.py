"""Build ``knowledge/data/associations.tsv`` from the labelled rulebooks' paraphrase questions.

Run by a developer after adding or changing a labelled set (``tests/data/rulebooks/``;
``tests/test_associations.py`` fails until then): for every paraphrase (``reword``)
question, the words it holds and the words of the names and aliases of the indicators it
asks about are counted per rulebook (see :mod:`knowledge.associations`). Measurements leave
each rulebook's own counts out.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.associations import DATA, count, write
from knowledge.holdout import labelled_rulebooks, paraphrase_examples

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    found = paraphrase_examples(labelled_rulebooks(ROOT))
    counts = count(found).usable()
    write(counts)
    print(
        f"{len(found)} questions of {len(counts.sources)} rulebooks: "
        f"{len(counts.words)} words, {len(counts.pairs)} pairs, "
        f"{sum(len(t) for t in counts.table().values())} used -> {DATA.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
