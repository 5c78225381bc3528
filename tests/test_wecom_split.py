"""Splitting replies under WeCom's byte limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.wecom.split import MARKDOWN_LIMIT, TEXT_LIMIT, split_bytes

chinese = st.text(
    alphabet=st.sampled_from(list("考核指标解读加分减分整改通报\n**ab1２３ 😀")), max_size=6000
)


@given(chinese, st.sampled_from([64, 200, TEXT_LIMIT]))
def test_text_pieces_fit_and_lose_nothing(text: str, limit: int) -> None:
    pieces = split_bytes(text, limit)
    assert all(len(piece.encode("utf-8")) <= limit for piece in pieces)
    joined = "".join(pieces).replace("\n", "")
    original = text.replace("\n", "")
    assert original.startswith(joined)
    assert original[len(joined) :].strip() == ""  # only a blank tail may be left unsent


def test_short_text_is_one_piece() -> None:
    assert split_bytes("你好", TEXT_LIMIT) == ["你好"]


def test_a_cut_never_splits_a_character() -> None:
    text = "整" * 1000  # 3000 bytes, one line
    pieces = split_bytes(text, TEXT_LIMIT)
    assert [len(p.encode()) for p in pieces] == [2046, 954]
    assert "".join(pieces) == text


def test_lines_are_kept_whole_when_they_fit() -> None:
    lines = ["第一行" * 100, "第二行" * 100, "第三行" * 100]  # 900 bytes each
    assert split_bytes("\n".join(lines), TEXT_LIMIT) == ["\n".join(lines[:2]), lines[2]]


@given(chinese)
def test_markdown_pieces_fit_and_close_bold(text: str) -> None:
    pieces = split_bytes(text, 300, markdown=True)
    assert all(len(piece.encode("utf-8")) <= 300 for piece in pieces)
    if len(pieces) > 1:
        assert all(piece.count("**") % 2 == 0 for piece in pieces[:-1])


def test_markdown_limit_is_4096_bytes() -> None:
    text = "\n".join(["**指标**：" + "说明" * 200] * 10)
    pieces = split_bytes(text, MARKDOWN_LIMIT, markdown=True)
    assert len(pieces) == 4  # 1213-byte lines, three to a piece
    assert all(len(p.encode()) <= MARKDOWN_LIMIT for p in pieces)
