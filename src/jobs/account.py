"""Account: which Telegram account Jobs runs in, known once it is connected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Account:
    """Set once by `jobs run` after logging in (`jobs chat` is the owner's own account).

    What only the owner's own account can do (drafts in the owner's chats, handing a
    conversation over) and what only an account of Jobs' own may do (speak in groups) ask it.
    """

    own: bool | None = None
    """True: the owner's own account; False: an account of Jobs' own; None: not known yet."""

    @property
    def is_owners(self) -> bool:
        return self.own is True

    @property
    def is_assistants(self) -> bool:
        return self.own is False
