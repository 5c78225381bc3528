"""Updates the Telegram bot cannot read: missing fields and wrong types (issue 8 §6).

Shared by the end-to-end test and ``benchmarks/bench_reliability.py``.
"""

from __future__ import annotations

import time
from typing import Any

USER = {"id": 9100, "is_bot": False, "first_name": "用户"}
CHAT = {"id": 9100, "type": "private"}


def _message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 1, "date": int(time.time()), "chat": CHAT, "from": USER, **fields}


MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("message without chat or date", {"message": {"message_id": 1}}),
    ("message of wrong types", {"message": {"message_id": "x", "date": "y", "chat": "z"}}),
    ("chat without type", {"message": _message(chat={"id": 9100})}),
    ("message is null", {"message": None}),
    ("message is a list", {"message": []}),
    ("text is a number", {"message": _message(text=12366)}),
    ("sender id is text", {"message": _message(text="你好", **{"from": {"id": "abc"}})}),
    ("entities are text", {"message": _message(text="/help", entities="bad")}),
    ("button press without sender", {"callback_query": {"id": "1", "data": "ind:KF-02"}}),
    (
        "button data is a number",
        {"callback_query": {"id": "2", "from": USER, "chat_instance": "c", "data": 5}},
    ),
    ("chat member update of wrong type", {"my_chat_member": {"chat": 1}}),
    ("document without file id", {"message": _message(document={"file_name": "x.csv"})}),
    ("an update kind nobody knows", {"no_such_kind": {"x": 1}}),
]
