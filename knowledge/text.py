"""Text normalisation for matching: how staff really type, folded into comparable strings.

* NFKC folds full-width digits, letters and punctuation (１２３６６ → 12366).
* OpenCC turns Traditional characters into Simplified (稅收 → 税收).
* Conversion debris from the source documents such as ``現(xiàn)`` loses its pinyin.
* A phonetic key replaces each Han character by its toneless syllable, with the fuzzy
  initials and finals that Wu-dialect speakers and pinyin-input typos confuse (z/zh, c/ch,
  s/sh, n/l, -n/-ng) merged, so 较正 and 矫正, 满义度 and 满意度 compare equal.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

# Pinyin is looked up one character at a time, so pypinyin's phrase dictionary (two seconds
# of start-up, most of kpibot's) is never consulted: skip loading it, and the dict copy.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "true")

import opencc
from pypinyin import Style, lazy_pinyin

_FILLERS_FILE = Path(__file__).with_name("data") / "fillers.txt"
_PINYIN_DEBRIS = re.compile(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüv]+[)）]")
_SEPARATORS = re.compile(r"[^0-9a-z\u3400-\u9fff\U00020000-\U0002ffff]+")
_HAN = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]")
_converter = opencc.OpenCC("t2s")

_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("ong", "on"))
_SYLLABLES_FILE = Path(__file__).with_name("data") / "syllables.txt"
_syllable_lock = threading.Lock()


def _load_syllable_codes() -> dict[str, str]:
    # A fixed table, so a phonetic key means the same in every process and in a cached index.
    lines = _SYLLABLES_FILE.read_text(encoding="utf-8").splitlines()
    syllables = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return {s: chr(0xF0000 + n) for n, s in enumerate(syllables)}  # a private-use plane


_syllable_codes = _load_syllable_codes()


def _load_fillers() -> tuple[str, ...]:
    lines = _FILLERS_FILE.read_text(encoding="utf-8").splitlines()
    phrases = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    return tuple(sorted(phrases, key=len, reverse=True))


FILLERS = _load_fillers()
_FILLER_PATTERN = re.compile("|".join(re.escape(p) for p in FILLERS))


def to_simplified(text: str) -> str:
    """Width-folded, lower-case Simplified Chinese without conversion debris."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PINYIN_DEBRIS.sub("", text)
    return str(_converter.convert(text))


def segments(text: str) -> list[str]:
    """Runs of Han characters, digits and letters of an already simplified text."""
    return [s for s in _SEPARATORS.split(text) if s]


def strip_fillers(text: str) -> str:
    """The text with greetings and politeness phrases replaced by a separator."""
    return _FILLER_PATTERN.sub(" ", text)


def compact(text: str) -> str:
    """Simplified text reduced to its meaningful characters, no spaces or punctuation."""
    return "".join(segments(to_simplified(text)))


def _fuzzy_syllable(syllable: str) -> str:
    for longer, shorter in _FUZZY_INITIALS:
        if syllable.startswith(longer):
            syllable = shorter + syllable[len(longer) :]
            break
    for longer, shorter in _FUZZY_FINALS:
        if syllable.endswith(longer):
            syllable = syllable[: -len(longer)] + shorter
            break
    return syllable


@lru_cache(maxsize=65536)
def phonetic_char(char: str) -> str:
    """One Han character as a single code point standing for its fuzzy toneless syllable."""
    if not _HAN.match(char):
        return char
    syllable = _fuzzy_syllable(lazy_pinyin(char, style=Style.NORMAL, errors="ignore")[0] or char)
    with _syllable_lock:
        code = _syllable_codes.get(syllable)
        if code is None:
            # a reading missing from the table (none of pypinyin's own): process-local code
            code = chr(0xF0000 + len(_syllable_codes))
            _syllable_codes[syllable] = code
    return code


def phonetic(text: str) -> str:
    """The phonetic key of an already simplified, compacted text (same length as the text)."""
    return "".join(phonetic_char(c) for c in text)


def bigrams(text: str) -> list[str]:
    """Overlapping character pairs of one segment (a lone character stands for itself)."""
    if len(text) < 2:
        return [text] if text else []
    return [text[i : i + 2] for i in range(len(text) - 1)]
