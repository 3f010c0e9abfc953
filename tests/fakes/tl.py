"""Building and (de)serialising Telethon TL objects the way a Telegram server would."""

from __future__ import annotations

import datetime
import inspect
import struct
import typing
from typing import Any

from telethon.extensions import BinaryReader
from telethon.tl import TLObject, functions, types

_WRAPPERS: tuple[type, ...] = tuple(
    c
    for c in (
        getattr(functions, "InvokeWithLayerRequest", None),
        getattr(functions, "InitConnectionRequest", None),
        getattr(functions, "InvokeWithoutUpdatesRequest", None),
        getattr(functions, "InvokeWithTakeoutRequest", None),
        getattr(functions, "InvokeWithMessagesRangeRequest", None),
        getattr(functions, "InvokeAfterMsgRequest", None),
        getattr(functions, "InvokeAfterMsgsRequest", None),
    )
    if c is not None
)
_BOOL_TRUE, _BOOL_FALSE, _VECTOR = 0x997275B5, 0xBC799737, 0x1CB5C415


def now() -> datetime.datetime:
    """Telegram dates: UTC, whole seconds."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """What an entity at `offset` of `length` UTF-16 units covers (half a surrogate pair
    raises UnicodeDecodeError: an entity must not cut a character)."""
    raw = text.encode("utf-16-le", "surrogatepass")
    return raw[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def entity_spans(message: Any) -> list[tuple[type, str]]:
    """A message's (or a send request's) entities as (their type, the text each covers)."""
    entities = message.entities or ()
    return [(type(e), utf16_slice(message.message, e.offset, e.length)) for e in entities]


def _default_from_name(name: str, depth: int) -> Any:
    name = name.removeprefix("Type")
    for cand in (name + "Empty", name):
        cls = getattr(types, cand, None)
        if inspect.isclass(cls):
            return mk(cls, _depth=depth + 1)
    raise TypeError(f"tl.mk: cannot default {name!r}")


def _default_for(ann: Any, depth: int) -> Any:
    simple: dict[Any, Any] = {int: 0, str: "", bytes: b"", bool: False, float: 0.0}
    if ann in simple:
        return simple[ann]
    if ann is datetime.datetime:
        return now()
    if isinstance(ann, typing.ForwardRef):
        ann = ann.__forward_arg__
    if isinstance(ann, str):
        return _default_from_name(ann, depth)
    origin = typing.get_origin(ann)
    if origin is list:
        return []
    if origin is typing.Union:
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if datetime.datetime in args:
            return now()
        return _default_for(args[0], depth)
    raise TypeError(f"tl.mk: cannot default {ann!r}")


def mk(cls: Any, _depth: int = 0, **kw: Any) -> Any:
    """Build a TL object, filling every *required* field not given with a neutral default
    (0, '', [], now, XEmpty()...): keeps the fake working when a layer adds required fields."""
    if _depth > 4:
        raise TypeError(f"tl.mk: too deep at {cls}")
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in kw or p.default is not inspect.Parameter.empty:
            continue
        kw[name] = _default_for(p.annotation, _depth)
    return cls(**kw)


def serialise(obj: Any) -> bytes | None:
    """A result as a server puts it on the wire; None for primitives (passed through)."""
    if obj is True:
        return struct.pack("<I", _BOOL_TRUE)
    if obj is False:
        return struct.pack("<I", _BOOL_FALSE)
    if isinstance(obj, list) and all(isinstance(x, TLObject) for x in obj):
        return struct.pack("<Ii", _VECTOR, len(obj)) + b"".join(bytes(x) for x in obj)
    if isinstance(obj, TLObject):
        return bytes(obj)
    return None


def roundtrip_result(request: Any, result: Any) -> Any:
    """Serialise `result` and parse it back with request.read_result, as the real sender does."""
    data = serialise(result)
    if data is None:
        return result
    with BinaryReader(data) as r:
        return request.read_result(r)


def copy(obj: Any) -> Any:
    """A deep copy through the wire format (what a second client would receive)."""
    with BinaryReader(bytes(obj)) as r:
        return r.tgread_object()


def decode(data: bytes) -> Any:
    """A request as the server decodes it: parsed from bytes, invokeWith* wrappers removed."""
    with BinaryReader(data) as r:
        return unwrap(r.tgread_object())


def unwrap(req: Any) -> Any:
    """The inner request of invokeWithLayer(initConnection(...)) and friends."""
    while isinstance(req, _WRAPPERS):
        req = getattr(req, "query")  # noqa: B009 - _WRAPPERS is a tuple of untyped classes
    return req


def updates(upds: list[Any], users: list[Any], chats: list[Any]) -> Any:
    return mk(types.Updates, updates=upds, users=users, chats=chats, date=now(), seq=0)


def reply_to_msg_id(request: Any) -> int | None:
    """The replied-to message id of a Send*Request, across layers
    (``reply_to=InputReplyToMessage`` since ~1.29, ``reply_to_msg_id`` before)."""
    rt = getattr(request, "reply_to", None)
    if rt is not None:
        return getattr(rt, "reply_to_msg_id", None)
    return getattr(request, "reply_to_msg_id", None)


def peer_of(entity: Any) -> Any:
    """User / Chat / Channel -> PeerUser / PeerChat / PeerChannel."""
    if isinstance(entity, types.User):
        return types.PeerUser(entity.id)
    if isinstance(entity, types.Chat):
        return types.PeerChat(entity.id)
    return types.PeerChannel(entity.id)
