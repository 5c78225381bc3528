"""The WeCom callback URL through the real ASGI app: verification, refusals, once-only, order."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.server import HttpDoor, build_http_app
from bot.wecom.callback import CallbackEndpoint, Inbox, SeenCallbacks
from bot.wecom.crypto import CallbackCrypto
from bot.wecom.messages import CardClick, Inbound, OtherMessage, TextMessage
from db.models import WecomCallbackSeen, utcnow
from tests.fake_wecom_api import AES_KEY, AGENT_ID, CORP_ID, TOKEN, WecomUser

PATH = "/wecom/callback"


class Recorder:
    """The door's handler in these tests: records, and can be held up."""

    def __init__(self) -> None:
        self.seen: asyncio.Queue[Inbound] = asyncio.Queue()
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()  # a worker has taken a message off its queue

    async def __call__(self, message: Inbound) -> None:
        self.entered.set()
        await self.gate.wait()
        await self.seen.put(message)

    async def next(self) -> Inbound:
        return await asyncio.wait_for(self.seen.get(), 5.0)


@dataclass
class Door:
    http: httpx.AsyncClient
    recorder: Recorder
    inbox: Inbox
    user: WecomUser


def endpoint(
    engine: Engine, recorder: Recorder, *, capacity: int = 100
) -> tuple[Inbox, CallbackEndpoint]:
    inbox = Inbox(recorder, workers=2, capacity=capacity)
    return inbox, CallbackEndpoint(
        CallbackCrypto(TOKEN, AES_KEY, CORP_ID),
        agent_id=AGENT_ID,
        seen=SeenCallbacks(engine),
        inbox=inbox,
    )


@pytest.fixture
async def door(engine: Engine) -> AsyncIterator[Door]:
    recorder = Recorder()
    inbox, callback = endpoint(engine, recorder)
    async with RunningDoor(callback, inbox) as http:
        yield Door(http, recorder, inbox, WecomUser(f"http://door{PATH}"))


class RunningDoor:
    """The ASGI app with the endpoint mounted, its inbox running, an httpx client on it."""

    def __init__(self, callback: CallbackEndpoint, inbox: Inbox) -> None:
        from starlette.routing import Route

        self.inbox = inbox
        self.app = build_http_app(
            [HttpDoor("wecom", [Route(PATH, callback.handle, methods=["GET", "POST"])])]
        )

    async def __aenter__(self) -> httpx.AsyncClient:
        self.inbox.start()
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://door"
        )
        return self.http

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self.inbox.stop()


async def post(door: Door, query: str, body: bytes) -> httpx.Response:
    return await door.http.post(f"{PATH}?{query}", content=body)


def claims(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [row.key for row in session.exec(select(WecomCallbackSeen)).all()]


# ---------------------------------------------------------------- URL verification


async def test_url_verification_answers_the_plain_echo(door: Door) -> None:
    sealed = door.user.crypto.seal("8187423596431", str(int(time.time())), "7312")
    query = urllib.parse.urlencode(
        {
            "msg_signature": sealed.msg_signature,
            "timestamp": sealed.timestamp,
            "nonce": sealed.nonce,
            "echostr": sealed.ciphertext,
        }
    )
    answer = await door.http.get(f"{PATH}?{query}")
    assert (answer.status_code, answer.text) == (200, "8187423596431")
    assert answer.headers["content-type"].startswith("text/plain")


async def test_url_verification_survives_an_unencoded_plus(door: Door) -> None:
    for attempt in range(50):  # until the ciphertext has a "+" in it
        sealed = door.user.crypto.seal("echo-plus", str(int(time.time())), str(attempt))
        if "+" in sealed.ciphertext:
            break
    assert "+" in sealed.ciphertext
    query = (
        f"msg_signature={sealed.msg_signature}&timestamp={sealed.timestamp}"
        f"&nonce={sealed.nonce}&echostr={sealed.ciphertext.replace('/', '%2F')}"
    )
    answer = await door.http.get(f"{PATH}?{query}")
    assert (answer.status_code, answer.text) == (200, "echo-plus")


@pytest.mark.parametrize("change", ["signature", "timestamp", "missing"])
async def test_url_verification_refuses_forgeries(door: Door, change: str) -> None:
    stamp = int(time.time())
    if change == "timestamp":
        stamp -= 3600
    sealed = door.user.crypto.seal("42", str(stamp), "1")
    params = {
        "msg_signature": sealed.msg_signature,
        "timestamp": sealed.timestamp,
        "nonce": sealed.nonce,
        "echostr": sealed.ciphertext,
    }
    if change == "signature":
        params["msg_signature"] = "0" * 40
    if change == "missing":
        del params["timestamp"]
    answer = await door.http.get(f"{PATH}?{urllib.parse.urlencode(params)}")
    assert answer.status_code == 403
    assert "42" not in answer.text


# ---------------------------------------------------------------- messages


async def test_text_message_is_answered_and_processed_once(door: Door, engine: Engine) -> None:
    query, body = door.user.sealed_body(door.user.text_xml("zhangsan", "满意度怎么算", "9001"))
    answer = await post(door, query, body)
    assert (answer.status_code, answer.text) == (200, "")
    message = await door.recorder.next()
    assert isinstance(message, TextMessage)
    assert (message.user_id, message.content, message.msg_id) == (
        "zhangsan",
        "满意度怎么算",
        "9001",
    )
    assert message.agent_id == AGENT_ID
    replay = await post(door, query, body)
    assert replay.status_code == 200
    await door.inbox.join()
    assert door.recorder.seen.empty()
    assert claims(engine) == ["msg:9001"]


async def test_retry_after_a_restart_is_not_processed_again(door: Door, engine: Engine) -> None:
    query, body = door.user.sealed_body(door.user.text_xml("zhangsan", "排名", "9002"))
    assert (await post(door, query, body)).status_code == 200
    await door.recorder.next()
    recorder = Recorder()
    inbox, callback = endpoint(engine, recorder)  # a new process on the same database
    async with RunningDoor(callback, inbox) as http:
        answer = await http.post(f"{PATH}?{query}", content=body)
        assert answer.status_code == 200
        await inbox.join()
    assert recorder.seen.empty()


async def test_card_click_carries_key_task_and_response_code(door: Door) -> None:
    query, body = door.user.sealed_body(
        door.user.click_xml("lisi", "lv:DL-01:股室", "ans-7", "rc-123")
    )
    assert (await post(door, query, body)).status_code == 200
    click = await door.recorder.next()
    assert click == CardClick(
        "lisi",
        click.create_time,
        AGENT_ID,
        event_key="lv:DL-01:股室",
        task_id="ans-7",
        card_type="button_interaction",
        response_code="rc-123",
    )


async def test_an_image_reaches_the_door_as_another_kind_of_message(door: Door) -> None:
    now = int(time.time())
    xml = (
        f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>lisi</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>image</MsgType>"
        "<PicUrl>http://example.invalid/p.jpg</PicUrl><MediaId>m1</MediaId>"
        f"<MsgId>9010</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
    )
    assert (await post(door, *door.user.sealed_body(xml))).status_code == 200
    assert await door.recorder.next() == OtherMessage(
        "lisi", now, AGENT_ID, kind="image", msg_id="9010"
    )


async def test_answer_comes_before_processing_ends(door: Door) -> None:
    door.recorder.gate.clear()  # processing is held up
    query, body = door.user.sealed_body(door.user.text_xml("zhangsan", "慢", "9003"))
    answer = await asyncio.wait_for(post(door, query, body), 2.0)
    assert answer.status_code == 200
    assert door.recorder.seen.empty()
    door.recorder.gate.set()
    assert isinstance(await door.recorder.next(), TextMessage)


async def test_one_users_messages_are_processed_in_order(door: Door) -> None:
    for index in range(20):
        query, body = door.user.sealed_body(
            door.user.text_xml("wangwu", f"第{index}条", f"93{index:02d}")
        )
        assert (await post(door, query, body)).status_code == 200
    contents = []
    for _ in range(20):
        message = await door.recorder.next()
        assert isinstance(message, TextMessage)
        contents.append(message.content)
    assert contents == [f"第{index}条" for index in range(20)]


# ---------------------------------------------------------------- refusals


async def test_forged_signature_is_refused_and_nothing_happens(door: Door, engine: Engine) -> None:
    forger = WecomUser(f"http://door{PATH}", token="not-our-token")
    query, body = forger.sealed_body(forger.text_xml("zhangsan", "/add GS06 KF-02 5", "9004"))
    answer = await post(door, query, body)
    assert answer.status_code == 403
    await door.inbox.join()
    assert door.recorder.seen.empty()
    assert claims(engine) == []


@pytest.mark.parametrize("skew", [-3600, 3600, -301])
async def test_stale_or_future_timestamp_is_refused(door: Door, engine: Engine, skew: int) -> None:
    xml = door.user.text_xml("zhangsan", "排名", "9005")
    query, body = door.user.sealed_body(xml, timestamp=int(time.time()) + skew)
    assert (await post(door, query, body)).status_code == 403
    assert claims(engine) == []


async def test_body_that_is_not_xml_is_refused(door: Door) -> None:
    answer = await post(door, "msg_signature=x&timestamp=" + str(int(time.time())), b"{json}")
    assert answer.status_code == 403


async def test_xml_bomb_envelope_is_refused(door: Door) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>'
    )
    answer = await post(door, "msg_signature=x&timestamp=" + str(int(time.time())), bomb)
    assert answer.status_code == 403


async def test_oversized_body_is_refused_unread(door: Door) -> None:
    answer = await post(door, "timestamp=" + str(int(time.time())), b"<xml>" + b"a" * 100_000)
    assert answer.status_code == 413


def signed_ciphertext(user: WecomUser, ciphertext: str) -> tuple[str, bytes]:
    from bot.wecom.crypto import signature

    stamp = str(int(time.time()))
    query = urllib.parse.urlencode(
        {
            "msg_signature": signature(TOKEN, stamp, "1", ciphertext),
            "timestamp": stamp,
            "nonce": "1",
        }
    )
    return query, f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>".encode()


@pytest.mark.parametrize(
    "case", ["garbage", "other corp", "unknown type", "menu event", "other agent", "dtd inside"]
)
async def test_signed_but_unusable_callbacks_are_ignored_with_200(
    door: Door, engine: Engine, case: str
) -> None:
    user = door.user
    now = int(time.time())
    if case == "garbage":
        query, body = signed_ciphertext(user, "bm90IGFlcyBjaXBoZXJ0ZXh0IGF0IGFsbA==")
    elif case == "other corp":
        other = WecomUser(user.callback_url, corp_id="ww-someone-else")
        query, body = signed_ciphertext(user, other.crypto.encrypt(other.text_xml("x", "hi")))
    else:
        xml = {
            "unknown type": f"<xml><FromUserName>u</FromUserName><CreateTime>{now}</CreateTime>"
            "<MsgType>hologram</MsgType><MsgId>1</MsgId></xml>",
            "menu event": f"<xml><FromUserName>u</FromUserName><CreateTime>{now}</CreateTime>"
            "<MsgType>event</MsgType><Event>enter_agent</Event></xml>",
            "other agent": WecomUser(user.callback_url, agent_id=99).text_xml("u", "hi", "9006"),
            "dtd inside": '<!DOCTYPE x [<!ENTITY e "x">]><xml><FromUserName>&e;</FromUserName>'
            f"<CreateTime>{now}</CreateTime><MsgType>text</MsgType><MsgId>2</MsgId></xml>",
        }[case]
        query, body = user.sealed_body(xml)
    answer = await post(door, query, body)
    assert (answer.status_code, answer.text) == (200, "")
    await door.inbox.join()
    assert door.recorder.seen.empty()
    assert claims(engine) == []


async def test_full_inbox_asks_wecom_to_retry_without_claiming(engine: Engine) -> None:
    recorder = Recorder()
    recorder.gate.clear()
    inbox, callback = endpoint(engine, recorder, capacity=1)
    user = WecomUser(f"http://door{PATH}")
    async with RunningDoor(callback, inbox) as http:
        statuses = []
        bodies = [
            user.sealed_body(user.text_xml("zhaoliu", f"问题{i}", f"94{i}")) for i in range(4)
        ]
        for query, body in bodies:
            statuses.append((await http.post(f"{PATH}?{query}", content=body)).status_code)
            if len(statuses) == 1:
                await asyncio.wait_for(recorder.entered.wait(), 5.0)
        # one in the worker's hands, one queued, the rest refused for now
        assert statuses == [200, 200, 503, 503]
        assert sorted(claims(engine)) == ["msg:940", "msg:941"]
        recorder.gate.set()
        await inbox.join()
        retry = await http.post(f"{PATH}?{bodies[2][0]}", content=bodies[2][1])
        assert retry.status_code == 200
        await inbox.join()
    received = [recorder.seen.get_nowait() for _ in range(recorder.seen.qsize())]
    assert [m.content for m in received if isinstance(m, TextMessage)] == [
        "问题0",
        "问题1",
        "问题2",
    ]


def test_old_claims_are_pruned(engine: Engine) -> None:
    from db.session import session_scope
    from db.wecom_store import claim_callback, prune_callbacks

    with session_scope(engine) as session:
        assert claim_callback(session=session, key="msg:old", now=utcnow() - timedelta(days=2))
        assert claim_callback(session=session, key="msg:new")
        assert not claim_callback(session=session, key="msg:new")
    with session_scope(engine) as session:
        assert prune_callbacks(session=session, before=utcnow() - timedelta(days=1)) == 1
    assert claims(engine) == ["msg:new"]
