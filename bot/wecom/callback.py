"""WeCom's callback URL: verify, decrypt, take in once, answer at once, process later.

WeCom retries a callback that is not answered within 5 seconds, so the endpoint does only
what decides the answer (signature, timestamp, decryption, the once-only claim) and hands the
message to an :class:`Inbox`, whose workers reply through the API when they get to it.

Answers: a wrong signature or a timestamp outside the allowed skew gets 403 and nothing is
processed. A body that verifies but cannot be decrypted or read, a message for another corp
or app, and message types the door does not serve are logged and answered 200 (WeCom would
only retry them). A callback seen before is answered 200 and not processed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.wecom.crypto import CallbackCrypto, CallbackCryptoError, ForeignReceiverError
from bot.wecom.messages import (
    MAX_BODY_BYTES,
    Ignored,
    Inbound,
    MalformedXmlError,
    parse_envelope,
    parse_message,
)
from db import wecom_store
from db.models import utcnow
from db.session import session_scope

logger = logging.getLogger(__name__)

Handler = Callable[[Inbound], Awaitable[None]]
SEEN_RETENTION = timedelta(days=1)


class Inbox:
    """Processes taken-in messages in the background, in order per user.

    A user's messages all go to one worker (chosen by a hash of the user id), so a confirm
    never overtakes the command it confirms; different users are served in parallel.
    """

    def __init__(self, handler: Handler, *, workers: int = 8, capacity: int = 500) -> None:
        self._handler = handler
        self._queues: list[asyncio.Queue[Inbound]] = [
            asyncio.Queue(maxsize=capacity) for _ in range(workers)
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def _queue(self, user_id: str) -> asyncio.Queue[Inbound]:
        return self._queues[zlib.crc32(user_id.encode("utf-8")) % len(self._queues)]

    def has_room(self, user_id: str) -> bool:
        """Whether the user's worker can take one more message now."""
        return not self._queue(user_id).full()

    async def put(self, message: Inbound) -> None:
        """Queue a message (call :meth:`has_room` first; waits if others filled it since)."""
        await self._queue(message.user_id).put(message)

    def start(self) -> None:
        """Start the workers (inside the running event loop)."""
        self._tasks = [asyncio.create_task(self._work(queue)) for queue in self._queues]

    async def join(self) -> None:
        """Wait until every queued message has been processed."""
        for queue in self._queues:
            await queue.join()

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Finish what is queued (for at most ``drain_seconds``), then stop the workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.join(), drain_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self, queue: asyncio.Queue[Inbound]) -> None:
        while True:
            message = await queue.get()
            try:
                await self._handler(message)
            except Exception:
                logger.exception("a WeCom message could not be processed (%s)", type(message))
            finally:
                queue.task_done()


class SeenCallbacks:
    """The once-only claims, in the database so that a restart does not answer twice."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _claim(self, key: str) -> bool:
        with session_scope(self._engine) as session:
            return wecom_store.claim_callback(session=session, key=key)

    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed, False ever after (until pruned)."""
        return await asyncio.to_thread(self._claim, key)

    def _prune(self) -> int:
        with session_scope(self._engine) as session:
            return wecom_store.prune_callbacks(session=session, before=utcnow() - SEEN_RETENTION)

    async def prune(self) -> int:
        """Forget claims older than a day (timestamps that old are refused anyway)."""
        return await asyncio.to_thread(self._prune)


class CallbackEndpoint:
    """The ASGI endpoint of the callback URL (``GET`` verification and ``POST`` messages)."""

    def __init__(
        self,
        crypto: CallbackCrypto,
        *,
        agent_id: int,
        seen: SeenCallbacks,
        inbox: Inbox,
        max_skew_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._crypto = crypto
        self._agent_id = agent_id
        self._seen = seen
        self._inbox = inbox
        self._max_skew = max_skew_seconds
        self._clock = clock

    async def handle(self, request: Request) -> Response:
        """Serve one request (the route's endpoint)."""
        params = request.query_params
        signature = params.get("msg_signature", "")
        timestamp = params.get("timestamp", "")
        nonce = params.get("nonce", "")
        if not self._fresh(timestamp):
            logger.warning("WeCom callback refused: timestamp missing or outside the allowed skew")
            return PlainTextResponse("forbidden", status_code=403)
        if request.method == "GET":
            # Base64 has no spaces: a "+" left unencoded by a proxy arrives as a space.
            echostr = params.get("echostr", "").replace(" ", "+")
            return self._verify_url(signature, timestamp, nonce, echostr)
        return await self._receive(request, signature, timestamp, nonce)

    def _fresh(self, timestamp: str) -> bool:
        if not timestamp.isdigit():
            return False
        return abs(self._clock() - int(timestamp)) <= self._max_skew

    def _verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> Response:
        try:
            self._crypto.verify(signature, timestamp, nonce, echostr)
        except CallbackCryptoError:
            logger.warning("WeCom URL verification refused: bad signature")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            echo = self._crypto.decrypt(echostr)
        except CallbackCryptoError as exc:
            logger.warning("WeCom URL verification: echostr not decryptable (%s)", exc)
            return PlainTextResponse("bad echostr", status_code=400)
        logger.info("WeCom URL verification answered")
        return PlainTextResponse(echo)

    async def _receive(
        self, request: Request, signature: str, timestamp: str, nonce: str
    ) -> Response:
        body = await _read_capped(request)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        try:
            envelope = parse_envelope(body)
        except MalformedXmlError:
            # Without its Encrypt element nothing can be verified: treat it as forged.
            logger.warning("WeCom callback refused: the body is not WeCom's XML")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            self._crypto.verify(signature, timestamp, nonce, envelope.encrypt)
        except CallbackCryptoError:
            logger.warning("WeCom callback refused: bad signature")
            return PlainTextResponse("forbidden", status_code=403)
        message = self._open(envelope.encrypt)
        if message is None:
            return Response(status_code=200)
        if not self._inbox.has_room(message.user_id):
            # Not claimed: WeCom retries later and the message is processed then.
            logger.warning("WeCom inbox full; asking WeCom to retry")
            return PlainTextResponse("busy", status_code=503)
        if not await self._seen.claim(message.key):
            logger.info("WeCom callback seen before; answered once already")
            return Response(status_code=200)
        await self._inbox.put(message)
        return Response(status_code=200)

    def _open(self, ciphertext: str) -> Inbound | None:
        """The message, or None (logged) when it is not one to process."""
        try:
            message = parse_message(self._crypto.decrypt(ciphertext))
        except ForeignReceiverError:
            logger.warning("WeCom callback ignored: meant for another corp")
            return None
        except CallbackCryptoError as exc:
            logger.warning("WeCom callback ignored: not decryptable (%s)", exc)
            return None
        except MalformedXmlError as exc:
            logger.warning("WeCom callback ignored: decrypted body is not a message (%s)", exc)
            return None
        if message.agent_id is not None and message.agent_id != self._agent_id:
            logger.warning("WeCom callback ignored: for agent %s, not ours", message.agent_id)
            return None
        if isinstance(message, Ignored):
            logger.info("WeCom callback ignored: type %s is not served", message.kind)
            return None
        return message


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None when it exceeds :data:`MAX_BODY_BYTES` (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
