"""Prepared matchers saved once per rulebook version and shared by every process.

Building and calibrating the index of 5,000 indicators takes seconds of CPU; loading it takes
a fraction of one. The file is named by a hash of everything the matcher depends on (the
indicators, the office synonyms, learned phrasings, the configuration, the decision
parameters, the out-of-scope bank and this format's version), so a new rulebook version gets
a new file and an old file is never read for the wrong rulebook.

Concurrent first questions after an upload build once: builders take a file lock (the
``filelock`` package) and the second one finds the file the first one wrote. Files are written
to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from knowledge.calibration import Calibration, out_of_scope_bank
from knowledge.index import LexicalIndex, Title
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.prepare import DecisionParams, prepare_matcher
from knowledge.rulebook import Indicator
from knowledge.synonyms import OfficeSynonym

FORMAT_VERSION = 2
LOCK_TIMEOUT_S = 600


def cache_key(
    indicators: Sequence[Indicator],
    config: MatcherConfig,
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    params: DecisionParams | None = None,
    negatives: Sequence[str] | None = None,
) -> str:
    """A hash of everything a prepared matcher depends on."""
    # The reprs of frozen dataclasses of str, Decimal and enums are exact and stable, and
    # much faster than a JSON dump of 5,000 indicators.
    content = (
        FORMAT_VERSION,
        tuple(indicators),
        config,
        tuple(synonyms),
        sorted((code, tuple(q)) for code, q in (learned or {}).items()),
        params or DecisionParams(),
        tuple(out_of_scope_bank() if negatives is None else negatives),
    )
    return hashlib.sha256(repr(content).encode("utf-8")).hexdigest()[:32]


def save_matcher(matcher: Matcher, path: Path) -> None:
    """Write a prepared matcher's index and calibration atomically."""
    index = matcher.index
    meta = {
        "size": index.size,
        "terms": list(index.terms),
        "lexicon": index.lexicon,
        "titles": [[t.doc, t.text, t.phon] for t in index.titles],
        "questions": [[t.doc, t.text, t.phon] for t in index.questions],
        "office": index.office,
        "background": index.background,
        "background_size": index.background_size,
        "calibration": dataclasses.asdict(matcher.calibration),
    }
    encoded = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(
                file,
                offsets=index.offsets,
                docs=index.docs,
                weights=index.weights,
                idf=index.idf,
                meta=encoded,
            )
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load_matcher(
    path: Path,
    indicators: Sequence[Indicator],
    config: MatcherConfig,
    *,
    learned: Mapping[str, Sequence[str]] | None = None,
) -> Matcher:
    """A matcher from a saved file; raises ``ValueError`` if the file is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            meta = json.loads(saved["meta"].tobytes().decode("utf-8"))
            arrays = {k: saved[k] for k in ("offsets", "docs", "weights", "idf")}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"unreadable matcher cache {path.name}: {exc}") from exc
    if meta["size"] != len(indicators):
        raise ValueError(f"matcher cache {path.name} is for another rulebook")
    index = LexicalIndex(
        size=meta["size"],
        terms=dict(zip(meta["terms"], range(len(meta["terms"])), strict=True)),
        offsets=arrays["offsets"],
        docs=arrays["docs"],
        weights=arrays["weights"],
        idf=arrays["idf"],
        lexicon=meta["lexicon"],
        titles=[Title(doc, text, phon) for doc, text, phon in meta["titles"]],
        questions=[Title(doc, text, phon) for doc, text, phon in meta["questions"]],
        office=[(word, term) for word, term in meta["office"]],
        background=meta["background"],
        background_size=meta["background_size"],
    )
    calibration = meta["calibration"]
    return Matcher(
        indicators,
        config,
        learned=learned,  # the index already holds them; the matcher's exact answers need them
        index=index,
        calibration=Calibration(
            in_scope=tuple(calibration["in_scope"]),
            right=tuple(calibration["right"]),
            answer_threshold=calibration["answer_threshold"],
            clarify_threshold=calibration["clarify_threshold"],
        ),
    )


def cached_matcher(
    indicators: Sequence[Indicator],
    cache_dir: Path,
    config: MatcherConfig | None = None,
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    params: DecisionParams | None = None,
    negatives: Sequence[str] | None = None,
) -> Matcher:
    """The prepared matcher for this rulebook version: loaded if saved, else built once."""
    return prepare_cached(
        indicators,
        cache_dir,
        config,
        synonyms=synonyms,
        learned=learned,
        params=params,
        negatives=negatives,
    )[0]


def prepare_cached(
    indicators: Sequence[Indicator],
    cache_dir: Path,
    config: MatcherConfig | None = None,
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    params: DecisionParams | None = None,
    negatives: Sequence[str] | None = None,
) -> tuple[Matcher, bool]:
    """Like :func:`cached_matcher`, also telling whether this call built the file."""
    config = config or MatcherConfig()
    key = cache_key(
        indicators, config, synonyms=synonyms, learned=learned, params=params, negatives=negatives
    )
    path = cache_dir / f"matcher-{key}.npz"
    if path.is_file():
        with contextlib.suppress(ValueError):
            return load_matcher(path, indicators, config, learned=learned), False
    from filelock import FileLock  # only a builder locks; its asyncio support costs a reader

    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache_dir / f"matcher-{key}.lock"), timeout=LOCK_TIMEOUT_S):
        if path.is_file():  # another process built it while this one waited
            with contextlib.suppress(ValueError):
                return load_matcher(path, indicators, config, learned=learned), False
        matcher = prepare_matcher(
            indicators,
            config,
            synonyms=synonyms,
            learned=learned,
            negatives=negatives,
            params=params,
        )
        save_matcher(matcher, path)
        return matcher, True
