"""FakeLogin: Telegram's login flow on a FakeTelegram (sendCode, signIn, the two-step password)
and a session file that knows the server but is not logged in, for `jobs login` over the
MTProto loopback.

    login = FakeLogin(tg, password="hunter2")      # without password: no two-step step
    login.session_file(path, loopback)             # the key is known, the account logged out
    ...                                            # jobs login: phone, code, (password)
    assert login.signed_in

Telethon does the SRP proof of the password itself; the fake does not check it (it has no
server-side verifier): it refuses the first `wrong_passwords` attempts and accepts the next.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from telethon.sessions import SQLiteSession
from telethon.tl import functions, types

from tests.fakes.loopback import MTProtoLoopback
from tests.fakes.telegram import FakeTelegram, RpcFail

PHONE = "4915112345678"  # the number the fake account has; any other is PHONE_NUMBER_INVALID
CODE = "12345"
# The 2048-bit safe prime of MTProto's SRP (core.telegram.org/api/srp); Telethon accepts only it.
SRP_PRIME = bytes.fromhex(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D2"
    "2530F4DBFA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454"
    "F18FAF8C595F642477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051"
    "907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6B"
    "C465B0D6FF9CA3928FEF5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B"
)


class FakeLogin:
    def __init__(
        self, tg: FakeTelegram, *, password: str | None = None, wrong_passwords: int = 0
    ) -> None:
        self.tg = tg
        self.password = password
        self.wrong_passwords = wrong_passwords
        self.signed_in = False
        self.codes_sent = 0
        # Logged out: who am I (getUsers) and getState are refused until someone signs in.
        for request in (functions.updates.GetStateRequest, functions.users.GetUsersRequest):
            tg.fail(request, "AUTH_KEY_UNREGISTERED", code=401, times=1000, when=self._logged_out)
        tg.handle(functions.auth.SendCodeRequest, self._send_code)
        tg.handle(functions.auth.SignInRequest, self._sign_in)
        tg.handle(functions.account.GetPasswordRequest, self._get_password)
        tg.handle(functions.auth.CheckPasswordRequest, self._check_password)

    @staticmethod
    def session_file(path: Path, loopback: MTProtoLoopback, *, port: int | None = None) -> Path:
        """A Telethon session file at `path` with the loopback's key, for its server (or for
        127.0.0.1:`port`)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        session = SQLiteSession(str(path))
        session.set_dc(loopback.fake.dc_id, loopback.host, port or loopback.port)
        session.auth_key = loopback.key
        session.save()
        session.close()
        return path

    def _logged_out(self, req: Any) -> bool:
        return not self.signed_in

    def _send_code(self, req: Any) -> Any:
        if req.phone_number != PHONE:
            raise RpcFail(400, "PHONE_NUMBER_INVALID")
        self.codes_sent += 1
        return types.auth.SentCode(
            type=types.auth.SentCodeTypeApp(length=len(CODE)), phone_code_hash="hash"
        )

    def _sign_in(self, req: Any) -> Any:
        if req.phone_code != CODE:
            raise RpcFail(400, "PHONE_CODE_INVALID")
        if self.password is not None:
            raise RpcFail(401, "SESSION_PASSWORD_NEEDED")
        return self._authorised()

    def _get_password(self, req: Any) -> Any:
        algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=os.urandom(8), salt2=os.urandom(16), g=3, p=SRP_PRIME
        )
        b = pow(3, int.from_bytes(os.urandom(32), "big"), int.from_bytes(SRP_PRIME, "big"))
        return types.account.Password(
            new_algo=algo,
            new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
            secure_random=os.urandom(32),
            has_password=True,
            current_algo=algo,
            srp_B=b.to_bytes(256, "big"),
            srp_id=1,
        )

    def _check_password(self, req: Any) -> Any:
        if self.wrong_passwords > 0:
            self.wrong_passwords -= 1
            raise RpcFail(400, "PASSWORD_HASH_INVALID")
        return self._authorised()

    def _authorised(self) -> Any:
        self.signed_in = True
        return types.auth.Authorization(user=self.tg.me)
