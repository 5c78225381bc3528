"""End to end: the real ``kpibot run`` with the WeCom door, driven by encrypted callbacks as
WeCom posts them, replying through the loopback fake WeCom API."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.services import Services
from bot.settings import Settings
from tests.fake_wecom_api import Call, FakeWecomApi, WecomUser
from tests.telegram_helpers import seed
from tests.wecom_helpers import Running, free_port, invite, kpibot_run, wecom_env

STAFF, ADMIN, STRANGER = "zhangsan", "jxb_wang", "lisi"


@dataclass
class Door:
    api: FakeWecomApi
    user: WecomUser
    run: Running
    database_url: str

    def say(self, user_id: str, text: str, *, count: int = 1) -> list[Call]:
        """A user writes; the first ``count`` messages the door sends them."""
        mark = self.api.mark()
        assert self.user.say(user_id, text) == (200, "")
        return self.api.wait_for(user_id, mark, count=count)

    def click(self, user_id: str, card: Call, key: str, *, count: int = 1) -> list[Call]:
        """A user presses a button of ``card``; the first ``count`` messages sent back."""
        mark = self.api.mark()
        code = self.api.issue_response_code(user_id)
        assert self.user.click(user_id, key, card.task_id, code) == (200, "")
        return self.api.wait_for(user_id, mark, count=count)


@pytest.fixture
def door(database_url: str, tmp_path: Path) -> Iterator[Door]:
    services = Services(Settings(database_url=database_url))
    seed(services)
    services.close()
    port = free_port()
    with FakeWecomApi() as api:
        env = wecom_env(database_url, api, port)
        with kpibot_run(env, tmp_path, port) as run:
            yield Door(api, WecomUser(run.callback_url), run, database_url)


def test_url_verification_and_forged_callbacks(door: Door) -> None:
    with urllib.request.urlopen(f"{door.run.base_url}/healthz") as health:
        # without Telegram's job queue, this process runs the notice jobs itself
        assert json.load(health) == {"status": "ok", "doors": ["wecom", "notices"]}
    assert door.user.verify_url("20261202") == (200, "20261202")
    forger = WecomUser(door.run.callback_url, token="guessed-token")
    mark = door.api.mark()
    assert forger.say(STAFF, "/help")[0] == 403
    query, body = door.user.sealed_body(door.user.text_xml(STAFF, "/help"), timestamp=1_000_000)
    assert door.user.post(query, body)[0] == 403
    # a real message afterwards is answered, and it is the only thing sent
    answer = door.say(STAFF, "/help")
    assert [call.to for call in door.api.sent(start=mark)] == [STAFF]
    assert "/start" in answer[0].content


def test_bind_ask_press_score_and_an_admin_add(door: Door) -> None:
    staff_code = invite(door.database_url, "--role", "staff", "--unit", "NB01")
    admin_code = invite(door.database_url, "--role", "admin")

    (bound,) = door.say(STAFF, f"绑定 {staff_code}")
    assert "绑定成功" in bound.content
    (again,) = door.say(STAFF, f"/start {staff_code}")
    assert again.content.startswith("该邀请码已被使用过")

    answer, card = door.say(STAFF, "税收收入完成率怎么算", count=2)
    assert answer.msgtype == "markdown"
    assert answer.content.startswith("**【DL-01】税收收入完成率**")
    assert card.msgtype == "template_card"
    keys = [key for _label, key in card.buttons]
    assert "lvl:DL-01:派出机构:1" in keys
    assert "fb:1:DL-01:1" in keys

    mark = door.api.mark()
    (level,) = door.click(STAFF, card, "lvl:DL-01:派出机构:1")
    assert "**派出机构解读**" in level.content
    (update,) = door.api.wait_for(STAFF, mark, path="message/update_template_card")
    assert update.payload["template_card"]["task_id"] == card.task_id

    (thanks,) = door.click(STAFF, card, "fb:1:DL-01")
    assert thanks.msgtype == "text"
    assert "反馈" in thanks.content

    (score,) = door.say(STAFF, "/score")
    assert "本期尚无考核数据" in score.content  # nothing entered this month: no ranking yet
    (refused,) = door.say(STAFF, "/add NB01 JF-01 2 表扬")
    assert refused.content.startswith("抱歉，该功能仅限绩效办")

    door.say(ADMIN, f"绑定 {admin_code}")
    confirm_text, confirm = door.say(ADMIN, "/add NB01 JF-01 2 市局通报表扬", count=2)
    assert "确认" in confirm_text.content
    ok_key = next(key for label, key in confirm.buttons if key.startswith("add:ok:"))
    (done,) = door.click(ADMIN, confirm, ok_key)
    assert done.content.startswith("已录入第 1 条")

    score, why = door.say(STAFF, "/score", count=2)
    assert "得分：102 分" in score.content
    assert [label for label, _key in why.buttons] == ["查看全部明细"]
    (rank,) = door.say(STAFF, "/rank")
    assert "第一税务所" in rank.content
    assert "102" in rank.content


def test_token_expiry_replay_and_a_stranger(door: Door) -> None:
    door.say(STAFF, "/help")
    door.api.expire_tokens()
    (answer,) = door.say(STAFF, "/help")
    assert "/start" in answer.content
    with door.api.lock:
        assert [c.path for c in door.api.calls].count("gettoken") == 2

    query, body = door.user.sealed_body(door.user.text_xml(STAFF, "/help", "77001"))
    mark = door.api.mark()
    assert door.user.post(query, body) == (200, "")
    door.api.wait_for(STAFF, mark)
    assert door.user.post(query, body) == (200, "")  # WeCom's retry of the same MsgId
    (later,) = door.say(STAFF, "/start")  # processed after the retry, in order
    sent = door.api.sent(STAFF, start=mark)
    assert [call.content == answer.content for call in sent] == [True, False]
    assert sent[-1] is later

    (refused,) = door.say(STRANGER, "/score")
    assert "仅向已绑定单位的用户开放" in refused.content
