"""Group similar unanswered questions so the office sees what to add to the rulebook first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.text import compact

SIMILARITY = 72.0


@dataclass(frozen=True)
class QuestionGroup:
    """Questions that say roughly the same thing."""

    example: str
    count: int
    variants: tuple[str, ...]
    statuses: tuple[tuple[str, int], ...]
    candidates: tuple[tuple[str, int], ...]
    # positions of the group's questions in the input, the first one (the seed) first; the
    # clustering is greedy in input order, so a group keeps its seed as questions arrive
    members: tuple[int, ...] = ()


def group_questions(
    questions: Sequence[tuple[str, str, Sequence[str]]], *, similarity: float = SIMILARITY
) -> list[QuestionGroup]:
    """Cluster (question, status, candidate codes) greedily; most frequent group first."""
    keys: list[str] = []
    members: list[list[int]] = []
    for index, (question, _status, _codes) in enumerate(questions):
        key = compact(question)
        found = (
            process.extractOne(
                key, keys, scorer=fuzz.ratio, processor=None, score_cutoff=similarity
            )
            if key
            else None
        )
        if found is None:
            keys.append(key)
            members.append([index])
        else:
            members[found[2]].append(index)
    groups: list[QuestionGroup] = []
    for indexes in members:
        texts = [questions[i][0] for i in indexes]
        common = Counter(texts).most_common()
        statuses = Counter(questions[i][1] for i in indexes).most_common()
        codes = Counter(c for i in indexes for c in questions[i][2]).most_common(3)
        groups.append(
            QuestionGroup(
                example=common[0][0],
                count=len(indexes),
                variants=tuple(t for t, _ in common[1:6]),
                statuses=tuple(statuses),
                candidates=tuple(codes),
                members=tuple(indexes),
            )
        )
    groups.sort(key=lambda g: (-g.count, g.example))
    return groups
