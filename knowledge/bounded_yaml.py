"""YAML as people write it, read within bounds: exact numbers, line numbers, no bombs.

PyYAML's safe loader still expands aliases (a 446-byte "billion laughs" file grows to
gigabytes), recurses once per nesting level, takes ``1_000`` for 1000, ``010`` for 8 and
``1:30`` for 90, and lets a later duplicate key silently win. This loader refuses aliases,
deep nesting, oversized documents and duplicate keys with the line, and leaves every
number that is not written plainly as its text, for the strict parser in
:mod:`knowledge.numbers` to refuse with a reason where a number is expected.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml

from knowledge.files import InputError, Problem

MAX_DEPTH = 32  # a rulebook nests 6 deep; anything near this is not a rulebook
MAX_NODES = 100_000  # a 500-indicator rulebook has ~15,000
MAX_NUMBER_TEXT = 32
_PLAIN_INT = re.compile(r"[-+]?[0-9]+", re.ASCII)
_PLAIN_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)", re.ASCII)

LINES = "__lines__"  # each mapping's key -> line, kept for locating problems
LINE = "__line__"  # the mapping's own first line


class BoundedLoader(yaml.SafeLoader):
    """A safe loader without aliases, bounded in depth and size, keeping lines and exact numbers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, refusing aliases, deep nesting and oversized documents."""
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "不支持 YAML 别名（*引用），请直接写出内容", self._here()
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"内容过多（超过 {MAX_NODES} 项）", self._here()
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"嵌套过深（超过 {MAX_DEPTH} 层）", self._here()
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _here(self) -> Any:
        """Where the next event starts (for the error's line)."""
        return self.peek_event().start_mark  # type: ignore[no-untyped-call]


def _construct_mapping(loader: BoundedLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    lines: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | Decimal | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "键必须是简单的文字或数字", key_node.start_mark
            )
        line = key_node.start_mark.line + 1
        if key in lines:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"键“{key}”重复（首次出现在第{lines[key]}行）",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        lines[key] = line
    result[LINES] = lines
    result[LINE] = node.start_mark.line + 1
    return result


def _construct_int(loader: BoundedLoader, node: yaml.ScalarNode) -> int | str:
    """A plainly written integer; anything else (1_000, 0x1F, 1:30, 010 as octal) stays text."""
    text = str(loader.construct_scalar(node))
    if len(text) <= MAX_NUMBER_TEXT and _PLAIN_INT.fullmatch(text):
        return int(text)
    return text


def _construct_float(loader: BoundedLoader, node: yaml.ScalarNode) -> Decimal | str:
    """A plainly written decimal, exact; anything else (1_0.5, .inf, .nan, 1.0e+3) stays text."""
    text = str(loader.construct_scalar(node))
    if len(text) <= MAX_NUMBER_TEXT and _PLAIN_DECIMAL.fullmatch(text):
        return Decimal(text)
    return text


BoundedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
BoundedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
BoundedLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def load_yaml(text: str, *, file: str) -> Any:
    """The document in ``text``; :class:`InputError` naming file and line when refused."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError([Problem(file, f"YAML 格式错误：{_chinese(exc.problem)}", line)]) from exc
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, f"YAML 格式错误：{_chinese(str(exc))}")]) from exc
    finally:
        loader.dispose()


def _chinese(problem: str | None) -> str:
    """Our own refusals as they are; PyYAML's English parser messages as one Chinese hint."""
    if problem and any("\u4e00" <= char <= "\u9fff" for char in problem):
        return problem
    return "缩进、冒号、引号或括号不正确，请检查本行及上一行"


def strip_lines(value: Any) -> Any:
    """A loaded YAML value without the line bookkeeping."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k not in (LINES, LINE)}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value
