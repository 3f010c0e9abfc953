"""MTProtoLoopback: a FakeTelegram served over a real 127.0.0.1 MTProto 2.0 socket.

The other seam (``FakeTelegram.attach``) swaps a client's sender in-process. This one touches no
client internals: an UNTOUCHED ``TelegramClient`` — in this process or in another one, such as a
``jobs run`` child — connects to ``127.0.0.1:<port>`` with the TcpFull transport (Telethon's
default) and the real ``MTProtoSender`` (acks, containers, gzip, pings, reconnects). The auth key
is pre-shared through the session string, so there is no DH handshake.

    async with MTProtoLoopback(fake) as server:
        env["TG_SESSION"] = server.session_string()   # dc, 127.0.0.1, port, key
        ...                                           # start the child
        fake.incoming(111, "hi")                      # pushed to every live connection
        await fake.wait_for(functions.messages.SendMessageRequest)

Requests are decoded and answered by ``FakeTelegram._answer`` (records, failures, handlers), each
in its own task, so a handler that holds a request (to test a crash mid-send) never blocks the
connection's other traffic. A request with no handler, or a handler bug, is answered with RPC
error 400 ``TGFAKE_<Name>`` and appended to ``fake.handler_errors``. Use ``fake.wait_for()``, not
``fake.idle()`` (the client's tasks live in another process). Connections register in
``fake._senders`` (they duck-type ``FakeSender.push``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import os
import struct
import time
from typing import Any, Self
from zlib import crc32

from telethon.crypto import AES, AuthKey
from telethon.extensions import BinaryReader
from telethon.sessions import StringSession
from telethon.tl import types

from tests.fakes.telegram import FakeTelegram, RpcFail
from tests.fakes.tl import decode, serialise

__all__ = ["MTProtoLoopback"]

_CONTAINER, _GZIP, _ACK, _RPC_RESULT = 0x73F1F8DC, 0x3072CFA1, 0x62D6B459, 0xF35C6D01
_PING, _PING_DELAY, _PONG = 0x7ABE77EC, 0xF3427B8C, 0x347773C5


def _kdf(key: bytes, msg_key: bytes, x: int) -> tuple[bytes, bytes]:
    """MTProto 2.0 AES key and IV (x=0: client → server, x=8: server → client)."""
    a = hashlib.sha256(msg_key + key[x : x + 36]).digest()
    b = hashlib.sha256(key[x + 40 : x + 76] + msg_key).digest()
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


class _Connection:
    """One client's TCP connection: decrypts its messages, answers them, pushes updates."""

    def __init__(
        self, server: MTProtoLoopback, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._server = server
        self._reader, self._writer = reader, writer
        self._send_seq, self._seqno, self._last_id = 0, 0, 0
        self._session_id = 0
        self._user_connected = True
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._user_connected

    def _msg_id(self, response: bool) -> int:
        mid = (int(time.time()) << 32) | (((time.time_ns() % 10**9) << 2) & 0xFFFFFFFF)
        mid = max(mid, self._last_id + 4)
        self._last_id = mid = (mid & ~3) | (1 if response else 3)  # server msg ids are odd
        return mid

    def send_obj(self, data: bytes, *, response: bool = True) -> None:
        """Encrypt one message (server → client) and write it in a TcpFull frame."""
        if not self._user_connected:
            return
        auth = self._server.key
        self._seqno += 1
        plain = struct.pack(
            "<qqqii", 0, self._session_id, self._msg_id(response), self._seqno * 2 + 1, len(data)
        )
        plain += data
        plain += os.urandom(-(len(plain) + 12) % 16 + 12)
        msg_key = hashlib.sha256(auth.key[96:128] + plain).digest()[8:24]
        key, iv = _kdf(auth.key, msg_key, 8)
        body = struct.pack("<Q", auth.key_id) + msg_key + AES.encrypt_ige(plain, key, iv)
        frame = struct.pack("<ii", len(body) + 12, self._send_seq) + body
        self._send_seq += 1
        self._writer.write(frame + struct.pack("<I", crc32(frame)))

    def push(self, upd: Any) -> None:
        """What FakeTelegram.push calls for every registered sender: an update, unasked."""
        self.send_obj(bytes(upd), response=False)

    async def run(self) -> None:
        try:
            while True:
                await self._receive()
                await self._writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away (or the server dropped it)
        finally:
            await self.close()

    async def _receive(self) -> None:
        key = self._server.key.key
        length, _seq = struct.unpack("<ii", await self._reader.readexactly(8))
        body = (await self._reader.readexactly(length - 8))[:-4]  # minus the crc32
        msg_key = body[8:24]
        aes_key, iv = _kdf(key, msg_key, 0)
        plain = AES.decrypt_ige(body[24:], aes_key, iv)
        if hashlib.sha256(key[88:120] + plain).digest()[8:24] != msg_key:
            raise ConnectionError("loopback: bad msg_key")
        _salt, self._session_id, msg_id, _seqno, n = struct.unpack("<qqqii", plain[:32])
        self._handle(msg_id, plain[32 : 32 + n])

    def _handle(self, msg_id: int, data: bytes) -> None:
        cid = struct.unpack("<I", data[:4])[0]
        if cid == _CONTAINER:
            count, pos = struct.unpack("<i", data[4:8])[0], 8
            for _ in range(count):
                inner_id, _seqno, size = struct.unpack("<qii", data[pos : pos + 16])
                self._handle(inner_id, data[pos + 16 : pos + 16 + size])
                pos += 16 + size
        elif cid == _GZIP:
            with BinaryReader(data[4:]) as r:
                self._handle(msg_id, gzip.decompress(r.tgread_bytes()))
        elif cid in (_PING, _PING_DELAY):
            ping_id = struct.unpack("<q", data[4:12])[0]
            self.send_obj(struct.pack("<Iqq", _PONG, msg_id, ping_id))
        elif cid != _ACK:
            task = asyncio.create_task(self._answer(msg_id, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg_id: int, data: bytes) -> None:
        fake = self._server.fake
        req = decode(data)
        try:
            payload = serialise(await fake._answer(req))
            if payload is None:
                raise TypeError(f"loopback cannot serialise the answer to {type(req).__name__}")
        except RpcFail as e:
            payload = bytes(types.RpcError(error_code=e.code, error_message=e.message))
        except Exception as e:  # noqa: BLE001 - no handler / a handler bug: a 400 the caller sees
            fake.handler_errors.append(e)
            name = type(req).__name__ if isinstance(e, NotImplementedError) else type(e).__name__
            payload = bytes(types.RpcError(error_code=400, error_message=f"TGFAKE_{name}"))
        self.send_obj(struct.pack("<Iq", _RPC_RESULT, msg_id) + payload)

    def drop(self) -> None:
        """Close the socket from the server side (the client sees a disconnect)."""
        self._user_connected = False
        self._writer.close()

    async def close(self) -> None:
        self.drop()
        tasks = list(self._tasks)
        for task in tasks:  # a held request dies with its connection, as on a real server
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        senders: list[Any] = self._server.fake._senders
        if self in senders:
            senders.remove(self)


class MTProtoLoopback:
    """A 127.0.0.1 MTProto server for `fake`; see the module docstring."""

    def __init__(self, fake: FakeTelegram, *, host: str = "127.0.0.1") -> None:
        self.fake = fake
        self.host = host
        self.key = AuthKey(os.urandom(256))
        self.connections: list[_Connection] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._on_connection, self.host, 0)
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("MTProtoLoopback is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def _on_connection(self, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, w)
        self.connections.append(conn)
        senders: list[Any] = self.fake._senders  # fake.incoming() / push() reach it
        senders.append(conn)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        await conn.run()

    def session(self) -> StringSession:
        """A StringSession that logs an untouched client in to this server."""
        s = StringSession()
        s.set_dc(self.fake.dc_id, self.host, self.port)
        s.auth_key = self.key
        return s

    def session_string(self) -> str:
        """The same, as the TG_SESSION string a `jobs run` child imports."""
        return str(StringSession.save(self.session()))

    @property
    def live(self) -> int:
        """How many client connections are open now."""
        return sum(c.connected for c in self.connections)

    def drop(self) -> None:
        """Close every client connection (the clients reconnect by themselves)."""
        for conn in self.connections:
            if conn.connected:
                conn.drop()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            await conn.close()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
