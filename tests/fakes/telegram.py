"""An offline fake Telegram for ONE account, served to a real Telethon 1.45 client in-process.

Seam: a real ``TelegramClient`` (any session) gets its network layer, ``client._sender`` (an
``MTProtoSender``), swapped by ``FakeTelegram.attach(client)`` for a ``FakeSender``. Everything
above it is the real library: ``connect()`` / ``start()``, ``_call`` (flood-wait handling, entity
caching), the update loop and ``MessageBox`` (pts, gaps, getDifference), event builders and
filters, ``event.reply()``... Requests are serialised with ``bytes(request)`` and decoded again, as
a server would see them; results are serialised and parsed back with ``request.read_result``; RPC
errors are made by Telethon's own ``errors.rpc_message_to_error``. Incoming traffic is pushed as
real TL ``Updates`` into ``client._updates_queue``. No socket is ever opened.

Private attributes touched (pin telethon): ``client._sender`` (replaced), ``_updates_queue``
(fed), ``_borrow_exported_sender`` / ``_return_exported_sender`` (replaced), ``_dispatch_update``
(wrapped, to count in-flight dispatches for ``idle()``), ``_event_handler_tasks`` (read), and
``MTProtoSender._store_own_updates`` (reused).

Unknown requests raise NotImplementedError in the caller; add answers with ``fake.handle``.

    fake = FakeTelegram(me_id=1000)
    client = fake.client()
    client.add_event_handler(on_message, events.NewMessage(incoming=True))
    await client.connect()
    msg = fake.incoming(111, "hi")        # a private message from user 111
    await fake.idle()                     # handlers done; re-raises their exceptions
    [req] = fake.of(functions.messages.SendMessageRequest)
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import inspect
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from telethon import TelegramClient, errors, utils
from telethon.crypto import AuthKey
from telethon.network import MTProtoSender
from telethon.sessions import StringSession
from telethon.tl import functions, types

from tests.fakes.tl import (
    copy,
    decode,
    mk,
    now,
    peer_of,
    reply_to_msg_id,
    roundtrip_result,
    unwrap,
    updates,
    utf16_len,
)

__all__ = ["ClientFactory", "FakeSender", "FakeTelegram", "RpcFail", "mk", "reply_to_msg_id"]

API_ID, API_HASH = 12345, "0123456789abcdef0123456789abcdef"
Handler = Callable[[Any], Any]
ClientFactory = Callable[..., Awaitable[TelegramClient]]
"""The `tg_connect` fixture: `await tg_connect(**client_kwargs)` -> a connected client."""


class RpcFail(Exception):
    """Raise from a handler to answer with a Telegram RPC error, e.g.
    ``RpcFail(400, 'PEER_ID_INVALID')`` or ``RpcFail(420, 'FLOOD_WAIT_5')``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message = code, message


class FakeSender:
    """Duck-types ``telethon.network.MTProtoSender`` for one client."""

    def __init__(self, server: FakeTelegram, updates_queue: asyncio.Queue[Any]) -> None:
        self._server = server
        self._updates_queue = updates_queue
        self.auth_key = AuthKey(b"\x01" * 256)
        self._connection: Any = None
        self._user_connected = False
        self._disc: asyncio.Future[None] | None = None
        self.dc_id = server.dc_id

    async def connect(self, connection: Any) -> bool:
        if self._user_connected:
            return False
        self._connection = connection  # constructed, never opened
        self._user_connected = True
        self._disc = asyncio.get_running_loop().create_future()
        return True

    def is_connected(self) -> bool:
        return self._user_connected

    def _transport_connected(self) -> bool:
        return self._user_connected

    async def disconnect(self) -> None:
        self._user_connected = False
        if self._disc is not None and not self._disc.done():
            self._disc.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future[None]:
        if self._disc is None:
            self._disc = asyncio.get_running_loop().create_future()
            self._disc.set_result(None)
        return asyncio.shield(self._disc)

    def _keepalive_ping(self, rnd_id: int) -> None:
        pass

    def send(self, request: Any, ordered: bool = False) -> Any:
        if not self._user_connected:
            raise ConnectionError("Cannot send requests while disconnected")
        if utils.is_list_like(request):
            return [self._enqueue(r) for r in request]
        return self._enqueue(request)

    def _enqueue(self, request: Any) -> asyncio.Future[Any]:
        data = bytes(request)  # same serialisation (and errors) as RequestState
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        task = loop.create_task(self._server._serve(self, request, data, fut))
        self._server._inflight.add(task)
        task.add_done_callback(self._server._inflight.discard)
        return fut

    def _store_own_updates(self, obj: Any) -> None:
        MTProtoSender._store_own_updates(self, obj)

    def push(self, upd: Any) -> None:
        if self._user_connected:
            self._updates_queue.put_nowait(copy(upd))


class _HandlerErrors(logging.Handler):
    """Collects the event-handler exceptions Telethon only logs."""

    def __init__(self, sink: list[BaseException]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and str(record.msg).startswith("Unhandled exception on"):
            exc = record.exc_info[1]
            if exc is not None:
                self.sink.append(exc)


class FakeTelegram:
    """A tiny in-memory Telegram for ONE account (``me``)."""

    def __init__(
        self,
        *,
        me_id: int = 1000,
        first_name: str = "Me",
        username: str = "me",
        phone: str = "15550000000",
        dc_id: int = 2,
        text_limit: int = 4096,
        caption_limit: int = 1024,
    ) -> None:
        self.dc_id = dc_id
        self.text_limit, self.caption_limit = text_limit, caption_limit
        self.users: dict[int, Any] = {}  # id -> types.User
        self.chats: dict[int, Any] = {}  # id -> types.Chat | types.Channel
        self.pts, self.seq = 1, 0
        self.channel_pts: dict[int, int] = {}
        self.log: list[tuple[int, Any]] = []  # (pts, Update), account-wide
        self.channel_log: dict[int, list[tuple[int, Any, int]]] = {}  # id -> (pts, Update, tick)
        self._tick, self._pts_tick = 0, {1: 0}  # global event clock; account pts -> tick
        self.messages: dict[int, dict[int, Any]] = {}  # marked peer id -> {msg_id: Message}
        self._next_msg_id = 1
        self._channel_msg_id: dict[int, int] = {}
        self.requests: list[Any] = []  # every request, decoded and unwrapped
        self.outbox: list[Any] = []  # messages created by the client's sends
        self.edits: list[Any] = []
        self.reactions: list[Any] = []  # SendReactionRequests that were accepted
        self.uploads: dict[int, dict[int, bytes]] = {}  # file_id -> {part: bytes}
        self.files: dict[int, bytes] = {}  # document/photo id -> bytes
        self.unhandled: list[Any] = []
        self.drafts: dict[int, Any] = {}  # marked peer id -> DraftMessage (saveDraft)
        self.read_marks: dict[int, int] = {}  # marked peer id -> the owner's read_inbox_max_id
        self.handler_errors: list[BaseException] = []
        self._random_ids: set[tuple[int, int]] = set()  # (marked peer id, random_id) seen
        self._failures: list[list[Any]] = []
        self._handlers: dict[type, Handler] = self._builtin_handlers()
        self._senders: list[FakeSender] = []
        self._clients: list[Any] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._dispatching = 0
        self._id_seq = itertools.count(5_000_000_001)
        self._log_handler = _HandlerErrors(self.handler_errors)
        logging.getLogger("telethon.client.updates").addHandler(self._log_handler)
        self.me = self.add_user(me_id, first_name, username=username, phone=phone, is_self=True)

    # ----------------------------------------------------------- entities
    @staticmethod
    def _hash(i: int) -> int:
        return (i * 2654435761 + 12345) % (2**62) + 1

    def add_user(
        self,
        id: int,
        first_name: str = "User",
        last_name: str | None = None,
        *,
        username: str | None = None,
        bot: bool = False,
        phone: str | None = None,
        contact: bool = False,
        is_self: bool = False,
        **kw: Any,
    ) -> Any:
        """A user; contact=True lists them in contacts.getContacts (phone lookups)."""
        u = mk(
            types.User,
            id=id,
            is_self=is_self or None,
            bot=bot or None,
            contact=contact or None,
            access_hash=self._hash(id),
            first_name=first_name,
            last_name=last_name,
            username=username,
            phone=phone,
            bot_info_version=1 if bot else None,
            **kw,
        )
        self.users[id] = u
        return u

    def add_channel(
        self,
        id: int,
        title: str = "Channel",
        *,
        username: str | None = None,
        megagroup: bool = False,
        **kw: Any,
    ) -> Any:
        c = mk(
            types.Channel,
            id=id,
            title=title,
            photo=types.ChatPhotoEmpty(),
            date=now(),
            access_hash=self._hash(id),
            username=username,
            broadcast=None if megagroup else True,
            megagroup=megagroup or None,
            **kw,
        )
        self.chats[id] = c
        self.channel_pts.setdefault(id, 1)
        return c

    def add_chat(
        self, id: int, title: str = "Group", participants_count: int = 2, **kw: Any
    ) -> Any:
        c = mk(
            types.Chat,
            id=id,
            title=title,
            photo=types.ChatPhotoEmpty(),
            participants_count=participants_count,
            date=now(),
            version=1,
            **kw,
        )
        self.chats[id] = c
        return c

    def user(self, id: int) -> Any:
        """The user with this id, made up (``User<id>``) if never added."""
        return self.users.get(id) or self.add_user(id, f"User{id}")

    def seed(self, client: Any, *entities: Any) -> None:
        """Make the client 'already know' entities (as if seen in a dialog list)."""
        users = [e for e in entities if isinstance(e, types.User)]
        chats = [e for e in entities if not isinstance(e, types.User)]
        resolved = mk(types.contacts.ResolvedPeer, peer=None, users=users, chats=chats)
        client.session.process_entities(resolved)

    def _entity_for_peer(self, peer: Any) -> Any:
        if isinstance(peer, types.PeerUser):
            return self.users.get(peer.user_id)
        if isinstance(peer, types.PeerChat):
            return self.chats.get(peer.chat_id)
        return self.chats.get(peer.channel_id)

    def _input_to_peer(self, ip: Any) -> Any:
        """InputPeer/InputUser/InputChannel -> Peer, validating access hashes like the server
        does (PEER_ID_INVALID / CHANNEL_INVALID)."""
        if isinstance(ip, types.InputPeerSelf | types.InputUserSelf):
            return types.PeerUser(self.me.id)
        if isinstance(ip, types.InputPeerUser | types.InputUser):
            u = self.users.get(ip.user_id)
            if not u or u.access_hash != ip.access_hash:
                raise RpcFail(400, "PEER_ID_INVALID")
            return types.PeerUser(u.id)
        if isinstance(ip, types.InputPeerChat):
            if ip.chat_id not in self.chats:
                raise RpcFail(400, "CHAT_ID_INVALID")
            return types.PeerChat(ip.chat_id)
        if isinstance(ip, types.InputPeerChannel | types.InputChannel):
            c = self.chats.get(ip.channel_id)
            if not c or c.access_hash != ip.access_hash:
                raise RpcFail(400, "CHANNEL_INVALID")
            return types.PeerChannel(c.id)
        raise RpcFail(400, "PEER_ID_INVALID")

    def _related(self, *peers: Any, msgs: Iterable[Any] = ()) -> tuple[list[Any], list[Any]]:
        users, chats = {self.me.id: self.me}, {}
        for m in msgs:
            peers += (m.peer_id, m.from_id)
            if m.fwd_from and m.fwd_from.from_id:
                peers += (m.fwd_from.from_id,)
        for p in peers:
            e = p and self._entity_for_peer(p)
            if isinstance(e, types.User):
                users[e.id] = e
            elif e is not None:
                chats[e.id] = e
        return list(users.values()), list(chats.values())

    # ------------------------------------------------------------ attach
    def attach(self, client: Any) -> Any:
        """Swap the client's network layer for this fake. Call before connect()."""
        sender = FakeSender(self, client._updates_queue)
        client._sender = sender
        self._senders.append(sender)

        async def borrow(dc_id: int) -> FakeSender:  # other-DC downloads: no real sockets
            return sender

        async def give_back(s: Any) -> None:
            pass

        client._borrow_exported_sender = borrow
        client._return_exported_sender = give_back
        client._dispatch_update = self._counted(client._dispatch_update)
        self._clients.append(client)
        # The sender is asked to connect to session.server_address; keep it local.
        if not client.session.server_address:
            client.session.set_dc(self.dc_id, "127.0.0.1", 1)
        return client

    def _counted(self, dispatch: Any) -> Callable[..., Any]:
        async def counted(update: Any, *a: Any, **kw: Any) -> Any:
            self._dispatching += 1
            try:
                return await dispatch(update, *a, **kw)
            except Exception as e:  # e.g. a chats=['name'] filter that cannot resolve:
                self.handler_errors.append(e)  # Telethon would lose it in the task
                raise
            finally:
                self._dispatching -= 1

        return counted

    def client(self, session: Any = None, **kw: Any) -> TelegramClient:
        """A real TelegramClient wired to this fake (not connected yet)."""
        kw.setdefault("receive_updates", True)
        c = TelegramClient(
            session if session is not None else StringSession(), API_ID, API_HASH, **kw
        )
        return self.attach(c)

    # ---------------------------------------------------- scripting API
    def handle(self, request_cls: type, fn: Handler | None = None) -> Any:
        """Override/add the answer for a request type. fn(request) -> TL result (may be async,
        may raise RpcFail). Usable as a decorator."""
        if fn is None:

            def deco(f: Handler) -> Handler:
                self._handlers[request_cls] = f
                return f

            return deco
        self._handlers[request_cls] = fn
        return fn

    def fail(
        self,
        request_cls: type,
        message: str,
        code: int = 400,
        times: int = 1,
        when: Callable[[Any], bool] | None = None,
    ) -> None:
        """Answer the next `times` matching requests with an RPC error, e.g.
        fail(SendMessageRequest, 'FLOOD_WAIT_30', code=420)."""
        self._failures.append([request_cls, code, message, times, when])

    def of(self, *request_classes: type) -> list[Any]:
        """Captured requests of these types, in order."""
        return [r for r in self.requests if isinstance(r, request_classes)]

    async def wait_for(
        self,
        request_cls: type,
        pred: Callable[[Any], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
        count: int = 1,
    ) -> Any:
        """Wait until `count` requests of the type (matching pred) were captured."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            hits = [r for r in self.of(request_cls) if pred is None or pred(r)]
            if len(hits) >= count:
                return hits[count - 1]
            if loop.time() > end:
                seen = [type(r).__name__ for r in self.requests]
                raise TimeoutError(
                    f"tgfake: no {request_cls.__name__} after {timeout}s; saw {seen}"
                )
            await asyncio.sleep(0.01)

    def _busy(self) -> bool:
        return (
            bool(self._inflight)
            or self._dispatching > 0
            or any(
                c._updates_queue.qsize() or getattr(c, "_event_handler_tasks", ())
                for c in self._clients
                if c.is_connected()
            )
        )

    async def idle(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
        ticks: int = 25,
        raise_errors: bool = True,
    ) -> None:
        """Wait until updates are processed, handlers finished and no fake request is pending
        (stable for `ticks` loop iterations). Re-raises the first exception an event handler
        raised (Telethon only logs those)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        stable = 0
        while stable < ticks:
            stable = 0 if self._busy() else stable + 1
            if loop.time() > end:
                raise TimeoutError("tgfake: client did not become idle")
            await asyncio.sleep(0)
        if raise_errors and self.handler_errors:
            err = self.handler_errors[0]
            self.handler_errors.clear()
            raise err

    def close(self) -> None:
        """Detach the log handler that collects handler exceptions (fixture teardown)."""
        logging.getLogger("telethon.client.updates").removeHandler(self._log_handler)

    # ------------------------------------------------ incoming traffic
    def _new_id(self, peer: Any) -> int:
        if isinstance(peer, types.PeerChannel):
            cid = peer.channel_id
            self._channel_msg_id[cid] = self._channel_msg_id.get(cid, 0) + 1
            return self._channel_msg_id[cid]
        self._next_msg_id += 1
        return self._next_msg_id

    def _store(self, msg: Any) -> None:
        self.messages.setdefault(utils.get_peer_id(msg.peer_id), {})[msg.id] = msg

    def _acct_event(self, make: Callable[[int, int], Any], count: int = 1) -> Any:
        """Bump the account pts and log the update make(pts, count) returns."""
        self.pts += count
        self._tick += 1
        self._pts_tick[self.pts] = self._tick
        upd = make(self.pts, count)
        self.log.append((self.pts, upd))
        return upd

    def _chan_event(self, cid: int, make: Callable[[int, int], Any], count: int = 1) -> Any:
        """Bump a channel's own pts and log the update."""
        self.channel_pts[cid] = self.channel_pts.get(cid, 1) + count
        self._tick += 1
        upd = make(self.channel_pts[cid], count)
        self.channel_log.setdefault(cid, []).append((self.channel_pts[cid], upd, self._tick))
        return upd

    def _msg_event(self, msg: Any, edit: bool = False) -> Any:
        if isinstance(msg.peer_id, types.PeerChannel):
            ccls = types.UpdateEditChannelMessage if edit else types.UpdateNewChannelMessage
            return self._chan_event(
                msg.peer_id.channel_id, lambda p, c: mk(ccls, message=msg, pts=p, pts_count=c)
            )
        cls = types.UpdateEditMessage if edit else types.UpdateNewMessage
        return self._acct_event(lambda p, c: mk(cls, message=msg, pts=p, pts_count=c))

    def _make_message(
        self,
        peer: Any,
        text: str,
        sender_id: int | None,
        out: bool,
        reply_to: Any = None,
        media: Any = None,
        post: bool = False,
        **kw: Any,
    ) -> Any:
        # Broadcast posts have no from_id; incoming private messages omit it too
        # (layer >= 119); outgoing and group messages carry the sender.
        from_id = None
        if not post and (out or not isinstance(peer, types.PeerUser)):
            from_id = types.PeerUser(sender_id)
        if isinstance(reply_to, int):
            reply_to = mk(types.MessageReplyHeader, reply_to_msg_id=reply_to)
        return mk(
            types.Message,
            id=self._new_id(peer),
            peer_id=peer,
            date=now(),
            message=text,
            out=out or None,
            from_id=from_id,
            reply_to=reply_to,
            media=media,
            post=post or None,
            **kw,
        )

    def _emit_new(self, msg: Any, deliver: bool = True, short: bool = False) -> Any:
        """Record a new message (bumping pts) and push it to connected clients."""
        self._store(msg)
        users, chats = self._related(msgs=[msg])
        upd = self._msg_event(msg)
        if not deliver:
            return msg
        if short and isinstance(msg.peer_id, types.PeerUser):
            container = mk(
                types.UpdateShortMessage,
                id=msg.id,
                user_id=msg.peer_id.user_id,
                message=msg.message,
                pts=self.pts,
                pts_count=1,
                date=msg.date,
                out=msg.out,
                reply_to=msg.reply_to,
            )
        else:
            container = updates([upd], users, chats)
        self.push(container)
        return msg

    def incoming(
        self,
        from_user: int,
        text: str,
        chat: int | None = None,
        reply_to: Any = None,
        short: bool = False,
        deliver: bool = True,
        **kw: Any,
    ) -> Any:
        """Someone (user id) writes `text`, privately (chat=None) or in a group / megagroup
        (chat=id of a Chat or Channel added with add_chat/add_channel). short=True uses
        UpdateShortMessage (no entities attached) like Telegram does for users the client
        already knows. deliver=False: only visible via getDifference (the client missed it)."""
        u = self.user(from_user)
        peer = types.PeerUser(u.id) if chat is None else peer_of(self.chats[chat])
        msg = self._make_message(peer, text, u.id, out=False, reply_to=reply_to, **kw)
        return self._emit_new(msg, deliver, short)

    def outgoing(self, chat: int, text: str, deliver: bool = True, **kw: Any) -> Any:
        """The account owner types `text` into `chat` from ANOTHER device (what a
        `NewMessage(outgoing=True)` handler sees). chat: user id, or id of an added chat."""
        if chat in self.chats:
            peer = peer_of(self.chats[chat])
        else:
            peer = types.PeerUser(self.user(chat).id)
        msg = self._make_message(peer, text, self.me.id, out=True, **kw)
        self.drafts.pop(utils.get_peer_id(peer), None)  # sending clears the chat's draft
        return self._emit_new(msg, deliver)

    def channel_post(self, channel_id: int, text: str, deliver: bool = True, **kw: Any) -> Any:
        """A post in a broadcast channel (from_id=None, post=True)."""
        ch = self.chats[channel_id]
        peer = types.PeerChannel(ch.id)
        msg = self._make_message(peer, text, None, out=False, post=True, **kw)
        return self._emit_new(msg, deliver)

    def delete_for_everyone(self, chat: int, *ids: int) -> None:
        """Someone deletes messages for everyone in a private chat or basic group (chat: user
        id or id of an added Chat): Telegram names only the ids (UpdateDeleteMessages)."""
        peer = peer_of(self.chats[chat]) if chat in self.chats else types.PeerUser(chat)
        box = self.messages.get(utils.get_peer_id(peer), {})
        for i in ids:
            box.pop(i, None)
        upd = self._acct_event(
            lambda p, c: mk(types.UpdateDeleteMessages, messages=list(ids), pts=p, pts_count=c)
        )
        self.push(updates([upd], [], []))

    def edit(self, msg: Any, text: str, deliver: bool = True) -> Any:
        """Someone edits an existing message -> MessageEdited handlers."""
        stored = self.messages[utils.get_peer_id(msg.peer_id)][msg.id]
        stored.message, stored.edit_date = text, now()
        users, chats = self._related(msgs=[stored])
        upd = self._msg_event(stored, edit=True)
        if deliver:
            self.push(updates([upd], users, chats))
        return stored

    def push(self, upd: Any) -> None:
        """Push any raw TL Updates object (Updates, UpdateShort, UpdateShortMessage,
        UpdatesTooLong...) to every connected client, as the socket would."""
        for s in self._senders:
            s.push(upd)

    # ----------------------------------------------------- request serving
    async def _answer(self, req: Any) -> Any:
        """Answer one decoded, unwrapped request: the TL result, or raise RpcFail (or
        NotImplementedError for unknown requests)."""
        self.requests.append(req)
        for f in self._failures:
            cls, code, message, times, when = f
            if times > 0 and isinstance(req, cls) and (when is None or when(req)):
                f[3] -= 1
                raise RpcFail(code, message)
        fn = self._handlers.get(type(req))
        if fn is None:
            self.unhandled.append(req)
            name = type(req).__name__
            raise NotImplementedError(f"tgfake: no handler for {name}; add fake.handle({name}, fn)")
        result = fn(req)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _serve(
        self, sender: FakeSender, original: Any, data: bytes, fut: asyncio.Future[Any]
    ) -> None:
        inner = unwrap(original)
        try:
            result = roundtrip_result(inner, await self._answer(decode(data)))
        except RpcFail as e:
            if not fut.cancelled():
                rpc = types.RpcError(error_code=e.code, error_message=e.message)
                fut.set_exception(errors.rpc_message_to_error(rpc, original))
            return
        except Exception as e:  # noqa: BLE001 - a bug in the fake or a handler: the caller sees it
            if not fut.cancelled():
                fut.set_exception(e)
            return
        sender._store_own_updates(result)
        if not fut.cancelled():
            fut.set_result(result)

    def _builtin_handlers(self) -> dict[type, Handler]:
        """What this fake answers (fake.handle() overrides or adds entries)."""
        return {
            functions.help.GetConfigRequest: self._on_help_get_config,
            functions.users.GetUsersRequest: self._on_users_get_users,
            functions.users.GetFullUserRequest: self._on_users_get_full_user,
            functions.updates.GetStateRequest: self._on_updates_get_state,
            functions.updates.GetDifferenceRequest: self._on_updates_get_difference,
            functions.updates.GetChannelDifferenceRequest: self._on_updates_get_channel_difference,
            functions.contacts.ResolveUsernameRequest: self._on_contacts_resolve_username,
            functions.contacts.GetContactsRequest: self._on_contacts_get_contacts,
            functions.channels.GetChannelsRequest: self._on_channels_get_channels,
            functions.messages.GetChatsRequest: self._on_messages_get_chats,
            functions.channels.GetFullChannelRequest: self._on_channels_get_full_channel,
            functions.account.UpdateStatusRequest: self._on_account_update_status,
            functions.messages.SetTypingRequest: self._on_messages_set_typing,
            functions.messages.SendReactionRequest: self._on_messages_send_reaction,
            functions.messages.SendMessageRequest: self._on_messages_send_message,
            functions.messages.SendMediaRequest: self._on_messages_send_media,
            functions.messages.UploadMediaRequest: self._on_messages_upload_media,
            functions.upload.SaveFilePartRequest: self._on_upload_save_file_part,
            functions.upload.SaveBigFilePartRequest: self._on_upload_save_big_file_part,
            functions.upload.GetFileRequest: self._on_upload_get_file,
            functions.messages.EditMessageRequest: self._on_messages_edit_message,
            functions.messages.ForwardMessagesRequest: self._on_messages_forward_messages,
            functions.messages.DeleteMessagesRequest: self._on_messages_delete_messages,
            functions.channels.DeleteMessagesRequest: self._on_channels_delete_messages,
            functions.messages.ReadHistoryRequest: self._on_messages_read_history,
            functions.channels.ReadHistoryRequest: self._on_channels_read_history,
            functions.messages.ReadMentionsRequest: self._on_messages_read_mentions,
            functions.messages.GetHistoryRequest: self._on_messages_get_history,
            functions.messages.SearchRequest: self._on_messages_search,
            functions.messages.GetMessagesRequest: self._on_messages_get_messages,
            functions.channels.GetMessagesRequest: self._on_channels_get_messages,
            functions.messages.GetDialogsRequest: self._on_messages_get_dialogs,
            functions.messages.GetPeerDialogsRequest: self._on_messages_get_peer_dialogs,
            functions.messages.SaveDraftRequest: self._on_messages_save_draft,
        }

    def _on_help_get_config(self, req: Any) -> Any:
        dcs = [mk(types.DcOption, id=i, ip_address="127.0.0.1", port=1) for i in range(1, 6)]
        return mk(
            types.Config,
            date=now(),
            expires=now() + datetime.timedelta(hours=1),
            this_dc=self.dc_id,
            message_length_max=self.text_limit,
            caption_length_max=self.caption_limit,
            chat_size_max=200,
            megagroup_size_max=200000,
            edit_time_limit=172800,
            dc_options=dcs,
        )

    def _on_users_get_users(self, req: Any) -> list[Any]:
        out = []
        for iu in req.id:
            try:
                out.append(self._entity_for_peer(self._input_to_peer(iu)))
            except RpcFail:
                continue  # Telegram leaves unknown users out of the vector
        return out

    def _on_users_get_full_user(self, req: Any) -> Any:
        u = self._entity_for_peer(self._input_to_peer(req.id))
        full = mk(
            types.UserFull,
            id=u.id,
            settings=types.PeerSettings(),
            notify_settings=types.PeerNotifySettings(),
            common_chats_count=0,
        )
        return mk(types.users.UserFull, full_user=full, chats=[], users=[u])

    def _on_updates_get_state(self, req: Any) -> Any:
        return self._state()

    def _state(self) -> Any:
        return mk(
            types.updates.State, pts=self.pts, qts=0, date=now(), seq=self.seq, unread_count=0
        )

    def _on_updates_get_difference(self, req: Any) -> Any:
        missed = [u for p, u in self.log if p > req.pts]
        # Like Telegram, also hand out channel updates that happened since that state
        # (the client drops those it already has by channel pts).
        since = self._pts_tick.get(req.pts, 0)
        for entries in self.channel_log.values():
            missed += [u for _, u, tick in entries if tick > since]
        if not missed:
            return mk(types.updates.DifferenceEmpty, date=now(), seq=self.seq)
        msgs = [u.message for u in missed if isinstance(u, types.UpdateNewMessage)]
        other = [u for u in missed if not isinstance(u, types.UpdateNewMessage)]
        users, chats = self._related(
            msgs=msgs + [u.message for u in other if hasattr(u, "message")]
        )
        return mk(
            types.updates.Difference,
            new_messages=msgs,
            new_encrypted_messages=[],
            other_updates=other,
            chats=chats,
            users=users,
            state=self._state(),
        )

    def _on_updates_get_channel_difference(self, req: Any) -> Any:
        cid = self._input_to_peer(req.channel).channel_id
        pts = self.channel_pts.get(cid, 1)
        missed = [u for p, u, _ in self.channel_log.get(cid, []) if p > req.pts]
        if not missed:
            return mk(types.updates.ChannelDifferenceEmpty, pts=pts, final=True, timeout=30)
        msgs = [u.message for u in missed if isinstance(u, types.UpdateNewChannelMessage)]
        other = [u for u in missed if not isinstance(u, types.UpdateNewChannelMessage)]
        users, chats = self._related(types.PeerChannel(cid), msgs=msgs)
        return mk(
            types.updates.ChannelDifference,
            pts=pts,
            new_messages=msgs,
            other_updates=other,
            chats=chats,
            users=users,
            final=True,
            timeout=30,
        )

    def _on_contacts_resolve_username(self, req: Any) -> Any:
        name = req.username.lower()
        for e in itertools.chain(self.users.values(), self.chats.values()):
            if (getattr(e, "username", None) or "").lower() == name:
                users, chats = self._related(peer_of(e))
                return mk(types.contacts.ResolvedPeer, peer=peer_of(e), chats=chats, users=users)
        raise RpcFail(400, "USERNAME_NOT_OCCUPIED")

    def _on_contacts_get_contacts(self, req: Any) -> Any:
        users = [u for u in self.users.values() if u.contact]
        contacts = [mk(types.Contact, user_id=u.id, mutual=True) for u in users]
        return mk(types.contacts.Contacts, contacts=contacts, saved_count=0, users=users)

    def _on_channels_get_channels(self, req: Any) -> Any:
        chats = [self._entity_for_peer(self._input_to_peer(c)) for c in req.id]
        return mk(types.messages.Chats, chats=chats)

    def _on_messages_get_chats(self, req: Any) -> Any:
        return mk(types.messages.Chats, chats=[self.chats[i] for i in req.id if i in self.chats])

    def _on_channels_get_full_channel(self, req: Any) -> Any:
        ch = self._entity_for_peer(self._input_to_peer(req.channel))
        full = mk(
            types.ChannelFull,
            id=ch.id,
            about="",
            chat_photo=types.PhotoEmpty(0),
            notify_settings=types.PeerNotifySettings(),
            pts=self.channel_pts.get(ch.id, 1),
        )
        return mk(types.messages.ChatFull, full_chat=full, chats=[ch], users=[self.me])

    def _on_account_update_status(self, req: Any) -> bool:
        return True

    def _on_messages_set_typing(self, req: Any) -> bool:
        self._input_to_peer(req.peer)
        return True

    def _on_messages_send_reaction(self, req: Any) -> Any:
        peer = self._input_to_peer(req.peer)
        if req.msg_id not in self.messages.get(utils.get_peer_id(peer), {}):
            raise RpcFail(400, "MESSAGE_ID_INVALID")
        self.reactions.append(req)
        return updates([], [], [])

    # ---- sending
    def _check_text(self, text: str | None, limit: int, error: str) -> None:
        if utf16_len(text or "") > limit:
            raise RpcFail(400, error)

    def _claim_random_id(self, peer: Any, random_id: int) -> None:
        """Telegram refuses a repeated send (same random_id, same peer) and creates nothing.
        The code is 500 as on Telegram; Telethon maps the message to RandomIdDuplicateError, a
        ServerError, which its _call retries (2 s sleep each) before raising."""
        key = (utils.get_peer_id(peer), random_id)
        if key in self._random_ids:
            raise RpcFail(500, "RANDOM_ID_DUPLICATE")
        self._random_ids.add(key)

    def _send(self, req: Any, text: str, media: Any = None) -> Any:
        peer = self._input_to_peer(req.peer)
        self._claim_random_id(peer, req.random_id)
        post = isinstance(peer, types.PeerChannel) and bool(self.chats[peer.channel_id].broadcast)
        reply = None
        if reply_to_msg_id(req):
            reply = mk(types.MessageReplyHeader, reply_to_msg_id=reply_to_msg_id(req))
        msg = self._make_message(
            peer,
            text,
            self.me.id,
            out=True,
            reply_to=reply,
            media=media,
            post=post,
            entities=req.entities or None,
        )
        self._store(msg)
        self.outbox.append(msg)
        users, chats = self._related(peer)
        upd = self._msg_event(msg)
        if isinstance(peer, types.PeerUser) and media is None:
            return mk(
                types.UpdateShortSentMessage,
                id=msg.id,
                pts=self.pts,
                pts_count=1,
                date=msg.date,
                out=True,
                entities=req.entities or None,
            )
        sent_id = mk(types.UpdateMessageID, id=msg.id, random_id=req.random_id)
        return updates([sent_id, upd], users, chats)

    def _on_messages_send_message(self, req: Any) -> Any:
        if not req.message:
            raise RpcFail(400, "MESSAGE_EMPTY")
        self._check_text(req.message, self.text_limit, "MESSAGE_TOO_LONG")
        return self._send(req, req.message)

    def _on_messages_send_media(self, req: Any) -> Any:
        self._check_text(req.message, self.caption_limit, "MEDIA_CAPTION_TOO_LONG")
        return self._send(req, req.message, self._media_from_input(req.media))

    def _on_messages_upload_media(self, req: Any) -> Any:
        self._input_to_peer(req.peer)
        return self._media_from_input(req.media)

    def _assemble(self, input_file: Any) -> bytes:
        parts = self.uploads.get(input_file.id)
        if not parts or len(parts) != input_file.parts:
            raise RpcFail(400, "FILE_PARTS_INVALID")
        data = b"".join(parts[i] for i in range(input_file.parts))
        md5 = getattr(input_file, "md5_checksum", "")
        if md5 and hashlib.md5(data).hexdigest() != md5:
            raise RpcFail(400, "MD5_CHECKSUM_INVALID")
        return data

    def _media_from_input(self, m: Any) -> Any:
        if isinstance(m, types.InputMediaUploadedDocument):
            data = self._assemble(m.file)
            doc = self._document(next(self._id_seq), self._hash(7), m.mime_type, m.attributes)
            doc.size = len(data)
            self.files[doc.id] = data
            return types.MessageMediaDocument(document=doc)
        if isinstance(m, types.InputMediaUploadedPhoto):
            data = self._assemble(m.file)
            size = mk(types.PhotoSize, type="x", w=320, h=320, size=len(data))
            ph = mk(
                types.Photo,
                id=next(self._id_seq),
                access_hash=self._hash(7),
                file_reference=b"ref",
                date=now(),
                dc_id=self.dc_id,
                sizes=[size],
            )
            self.files[ph.id] = data
            return types.MessageMediaPhoto(photo=ph)
        if isinstance(m, types.InputMediaDocument):
            doc = self._document(m.id.id, m.id.access_hash, "application/octet-stream", [])
            doc.size = len(self.files.get(m.id.id, b""))
            return types.MessageMediaDocument(document=doc)
        raise NotImplementedError(f"tgfake: media {type(m).__name__}")

    def _document(self, id: int, access_hash: int, mime_type: str, attributes: list[Any]) -> Any:
        return mk(
            types.Document,
            id=id,
            access_hash=access_hash,
            file_reference=b"ref",
            date=now(),
            mime_type=mime_type,
            size=0,
            dc_id=self.dc_id,
            attributes=attributes,
        )

    def _on_upload_save_file_part(self, req: Any) -> bool:
        self.uploads.setdefault(req.file_id, {})[req.file_part] = req.bytes
        return True

    def _on_upload_save_big_file_part(self, req: Any) -> bool:
        self.uploads.setdefault(req.file_id, {})[req.file_part] = req.bytes
        return True

    def _on_upload_get_file(self, req: Any) -> Any:
        data = self.files.get(getattr(req.location, "id", 0))
        if data is None:
            raise RpcFail(400, "FILE_REFERENCE_EXPIRED")
        chunk = data[req.offset : req.offset + req.limit]
        return mk(types.upload.File, type=types.storage.FileUnknown(), mtime=0, bytes=chunk)

    def _on_messages_edit_message(self, req: Any) -> Any:
        peer = self._input_to_peer(req.peer)
        stored = self.messages.get(utils.get_peer_id(peer), {}).get(req.id)
        if stored is None:
            raise RpcFail(400, "MESSAGE_ID_INVALID")
        if req.message is not None:
            self._check_text(req.message, self.text_limit, "MESSAGE_TOO_LONG")
            if req.message == stored.message:
                raise RpcFail(400, "MESSAGE_NOT_MODIFIED")
            stored.message = req.message
        stored.edit_date = now()
        self.edits.append(stored)
        users, chats = self._related(peer, msgs=[stored])
        return updates([self._msg_event(stored, edit=True)], users, chats)

    def _on_messages_forward_messages(self, req: Any) -> Any:
        src = self._input_to_peer(req.from_peer)
        dst = self._input_to_peer(req.to_peer)
        ups = []
        for mid, rid in zip(req.id, req.random_id, strict=True):
            orig = self.messages.get(utils.get_peer_id(src), {}).get(mid)
            if orig is None:
                raise RpcFail(400, "MESSAGE_ID_INVALID")
            self._claim_random_id(dst, rid)
            fwd = mk(types.MessageFwdHeader, date=orig.date, from_id=orig.from_id or src)
            msg = self._make_message(
                dst, orig.message, self.me.id, out=True, media=orig.media, fwd_from=fwd
            )
            self._store(msg)
            self.outbox.append(msg)
            ups.append(mk(types.UpdateMessageID, id=msg.id, random_id=rid))
            ups.append(self._msg_event(msg))
        users, chats = self._related(src, dst)
        return updates(ups, users, chats)

    def _on_messages_delete_messages(self, req: Any) -> Any:
        for box in self.messages.values():
            for i in req.id:
                box.pop(i, None)
        self._acct_event(
            lambda p, c: mk(types.UpdateDeleteMessages, messages=list(req.id), pts=p, pts_count=c)
        )
        return mk(types.messages.AffectedMessages, pts=self.pts, pts_count=1)

    def _on_channels_delete_messages(self, req: Any) -> Any:
        cid = self._input_to_peer(req.channel).channel_id
        box = self.messages.get(utils.get_peer_id(types.PeerChannel(cid)), {})
        for i in req.id:
            box.pop(i, None)
        self._chan_event(
            cid,
            lambda p, c: mk(
                types.UpdateDeleteChannelMessages,
                channel_id=cid,
                messages=list(req.id),
                pts=p,
                pts_count=c,
            ),
        )
        return mk(types.messages.AffectedMessages, pts=self.channel_pts[cid], pts_count=1)

    def _on_messages_read_history(self, req: Any) -> Any:
        peer = self._input_to_peer(req.peer)
        self._acct_event(
            lambda p, c: mk(
                types.UpdateReadHistoryInbox,
                peer=peer,
                max_id=req.max_id,
                still_unread_count=0,
                pts=p,
                pts_count=c,
            )
        )
        return mk(types.messages.AffectedMessages, pts=self.pts, pts_count=1)

    def _on_channels_read_history(self, req: Any) -> bool:
        self._input_to_peer(req.channel)
        return True

    def _on_messages_read_mentions(self, req: Any) -> Any:
        self._input_to_peer(req.peer)
        return mk(types.messages.AffectedHistory, pts=self.pts, pts_count=0, offset=0)

    # ---- reading
    def _slice(
        self,
        peer: Any,
        req: Any,
        keep: Callable[[Any], bool] | None = None,
    ) -> Any:
        """A history page as messages.getHistory / search answer it."""
        allm = sorted(
            self.messages.get(utils.get_peer_id(peer), {}).values(),
            key=lambda m: m.id,
            reverse=True,
        )
        if keep:
            allm = [m for m in allm if keep(m)]
        start = 0
        if req.offset_id:
            start = next((i for i, m in enumerate(allm) if m.id < req.offset_id), len(allm))
        start = max(0, start + req.add_offset)
        page = [
            m
            for m in allm[start : start + req.limit]
            if (not req.max_id or m.id < req.max_id) and (not req.min_id or m.id > req.min_id)
        ]
        users, chats = self._related(peer, msgs=page)
        if isinstance(peer, types.PeerChannel):
            pts = self.channel_pts.get(peer.channel_id, 1)
            return mk(
                types.messages.ChannelMessages,
                pts=pts,
                count=len(allm),
                messages=page,
                chats=chats,
                users=users,
            )
        if len(page) == len(allm):
            return mk(types.messages.Messages, messages=page, chats=chats, users=users)
        return mk(
            types.messages.MessagesSlice, count=len(allm), messages=page, chats=chats, users=users
        )

    def _on_messages_get_history(self, req: Any) -> Any:
        return self._slice(self._input_to_peer(req.peer), req)

    def _on_messages_search(self, req: Any) -> Any:
        from_peer = self._input_to_peer(req.from_id) if req.from_id else None
        q = (req.q or "").lower()

        def keep(m: Any) -> bool:
            sender = m.from_id or (m.peer_id if not m.out else types.PeerUser(self.me.id))
            return (q in (m.message or "").lower()) and (from_peer is None or sender == from_peer)

        return self._slice(self._input_to_peer(req.peer), req, keep)

    def _by_ids(self, peer_key: int | None, ids: Iterable[Any]) -> list[Any]:
        """Like Telegram: one entry per id asked, a MessageEmpty where there is no such message
        (never sent, deleted, or a reply/pin that does not exist). peer_key None: every chat but
        channels (their ids are their own)."""
        empty_peer = None
        if peer_key is not None and peer_key < -(10**12):
            empty_peer = types.PeerChannel(utils.resolve_id(peer_key)[0])
        out = []
        for im in ids:
            mid = self._input_message_id(peer_key, im) or 0  # 0: no message has that id
            found = None
            for key, box in self.messages.items():
                if (peer_key is None and key > -(10**12)) or key == peer_key:
                    found = found or box.get(mid)
            # MessageEmpty is Telethon's patched Message: its __init__ wants a peer_id.
            out.append(found or types.MessageEmpty(id=mid, peer_id=empty_peer))
        return out

    def _input_message_id(self, peer_key: int | None, im: Any) -> int | None:
        """The message id an InputMessage stands for (None: no such message)."""
        if isinstance(im, int):
            return im
        if isinstance(im, types.InputMessageID):
            return int(im.id)
        if isinstance(im, types.InputMessageReplyTo):  # the message that one replies to
            [replying] = self._by_ids(peer_key, [im.id])
            header = getattr(replying, "reply_to", None)
            return getattr(header, "reply_to_msg_id", None)
        return None  # InputMessagePinned / InputMessageCallbackQuery: nothing pinned here

    def _on_messages_get_messages(self, req: Any) -> Any:
        msgs = self._by_ids(None, req.id)
        users, chats = self._related(msgs=[m for m in msgs if isinstance(m, types.Message)])
        return mk(types.messages.Messages, messages=msgs, chats=chats, users=users)

    def _on_channels_get_messages(self, req: Any) -> Any:
        peer = self._input_to_peer(req.channel)
        msgs = self._by_ids(utils.get_peer_id(peer), req.id)
        users, chats = self._related(peer, msgs=[m for m in msgs if isinstance(m, types.Message)])
        return mk(
            types.messages.ChannelMessages,
            pts=self.channel_pts.get(peer.channel_id, 1),
            count=len(msgs),
            messages=msgs,
            chats=chats,
            users=users,
        )

    def _on_messages_get_dialogs(self, req: Any) -> Any:
        dialogs, msgs = [], []
        for box in self.messages.values():
            if not box:
                continue
            top = box[max(box)]
            dialog = mk(
                types.Dialog,
                peer=top.peer_id,
                top_message=top.id,
                read_inbox_max_id=0,
                read_outbox_max_id=0,
                unread_count=0,
                notify_settings=types.PeerNotifySettings(),
            )
            dialogs.append(dialog)
            msgs.append(top)
        users, chats = self._related(*[d.peer for d in dialogs], msgs=msgs)
        return mk(types.messages.Dialogs, dialogs=dialogs, messages=msgs, chats=chats, users=users)

    def _on_messages_get_peer_dialogs(self, req: Any) -> Any:
        """The asked chats' dialogs: top message, read mark, unread count and draft."""
        dialogs, msgs = [], []
        for asked in req.peers:
            peer = self._input_to_peer(asked.peer)
            key = utils.get_peer_id(peer)
            box = self.messages.get(key, {})
            read = self.read_marks.get(key, 0)
            unread = [m for m in box.values() if not m.out and m.id > read]
            if box:
                msgs.append(box[max(box)])
            dialogs.append(
                mk(
                    types.Dialog,
                    peer=peer,
                    top_message=max(box) if box else 0,
                    read_inbox_max_id=read,
                    read_outbox_max_id=0,
                    unread_count=len(unread),
                    notify_settings=types.PeerNotifySettings(),
                    draft=self.drafts.get(key),
                )
            )
        users, chats = self._related(*[d.peer for d in dialogs], msgs=msgs)
        return mk(
            types.messages.PeerDialogs,
            dialogs=dialogs,
            messages=msgs,
            chats=chats,
            users=users,
            state=self._state(),
        )

    def _on_messages_save_draft(self, req: Any) -> bool:
        """Like Telegram: the chat's draft (every device of the account shows it); an empty
        message clears it."""
        key = utils.get_peer_id(self._input_to_peer(req.peer))
        if not req.message:
            self.drafts.pop(key, None)
            return True
        self._check_text(req.message, self.text_limit, "MESSAGE_TOO_LONG")
        self.drafts[key] = mk(
            types.DraftMessage,
            message=req.message,
            date=now(),
            entities=req.entities or None,
            reply_to=req.reply_to,
            no_webpage=req.no_webpage,
        )
        return True
