"""Telethon RPC errors of the account's own requests → JobsErrors a person (or model) can act on."""

from __future__ import annotations

from typing import Final

from telethon import errors
from telethon.errors.rpcerrorlist import rpc_errors_dict

from jobs.errors import RetryLater, TelegramError

_NAMES: Final = {cls: name for name, cls in rpc_errors_dict.items()}
_PLAIN: Final = {
    "CHANNEL_PRIVATE": "that chat is private: this account is not a member (or was removed)",
    "CHANNEL_INVALID": "that chat does not exist or this account cannot see it",
    "CHAT_ID_INVALID": "that chat does not exist or this account cannot see it",
    "PEER_ID_INVALID": "Telegram does not know that chat for this account",
    "USERNAME_NOT_OCCUPIED": "nobody has that username",
    "USERNAME_INVALID": "that is not a valid username",
    "INVITE_HASH_EXPIRED": "that invite link has expired",
    "INVITE_HASH_INVALID": "that invite link is not valid",
    "MESSAGE_ID_INVALID": "there is no message with that id in that chat",
    "MESSAGE_IDS_EMPTY": "there is no message with that id in that chat",
    "CHAT_WRITE_FORBIDDEN": "this account may not write in that chat",
    "CHAT_ADMIN_REQUIRED": "only an admin of that chat may do this",
    "USER_BANNED_IN_CHANNEL": "this account is banned from writing in that chat",
    "USER_PRIVACY_RESTRICTED": "that person's privacy settings forbid it",
    "USER_IS_BLOCKED": "that person has blocked this account",
    "YOU_BLOCKED_USER": "this account has blocked that person",
    "INPUT_USER_DEACTIVATED": "that account was deleted",
    "CHAT_FORWARDS_RESTRICTED": "that chat does not allow forwarding or saving its messages",
    "FILE_REFERENCE_EXPIRED": "the file is no longer available",
    "MEDIA_CAPTION_TOO_LONG": "the caption is longer than Telegram's 1024 characters",
    "MESSAGE_TOO_LONG": "the text is longer than Telegram's 4096 characters",
    "MESSAGE_EMPTY": "the message is empty",
}


def error_name(exc: errors.RPCError, /) -> str:
    """Telegram's own name of the error (FLOOD_WAIT_X, CHANNEL_PRIVATE, …)."""
    return _NAMES.get(type(exc)) or str(exc.message)


def describe_rpc_error(exc: errors.RPCError, doing: str, /) -> TelegramError:
    """`exc` as the JobsError to raise; `doing` completes "Telegram refused …" ("sending that").

    A flood wait becomes RetryLater with the wait in its message: callers never sleep it out.
    """
    if isinstance(exc, errors.FloodError):
        seconds = float(getattr(exc, "seconds", None) or 60)
        return RetryLater(
            seconds,
            f"Telegram asks to wait {seconds:.0f} s (flood wait) before {doing} again. "
            "Do not retry now; try later or do something else meanwhile.",
        )
    if isinstance(exc, errors.ServerError | errors.TimedOutError | errors.RpcCallFailError):
        return RetryLater(10, f"Telegram had an internal problem while {doing}; try again soon.")
    name = error_name(exc)
    reason = _PLAIN.get(name, "Telegram refused it")
    return TelegramError(f"Failed {doing}: {reason} ({name}).")
