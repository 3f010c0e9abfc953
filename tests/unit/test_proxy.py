"""TG_PROXY: the URL forms Telegram's apps offer, parsed; every mistake said without echoing
credentials; the secrets masked in logs; Telethon's connection options for each kind."""

from __future__ import annotations

import pytest
from telethon.network import ConnectionTcpMTProxyRandomizedIntermediate

from jobs.config import load_settings
from jobs.errors import ConfigError
from jobs.proxy import Proxy, parse_proxy
from jobs.telegram.connection import network_options

SECRET = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("url", "proxy"),
    [
        ("socks5://127.0.0.1:1080", Proxy("socks5", "127.0.0.1", 1080)),
        (
            "SOCKS5://u%40x:p%3Aw@proxy.example:9050",
            Proxy("socks5", "proxy.example", 9050, "u@x", "p:w"),
        ),
        ("socks5h://h:1", Proxy("socks5", "h", 1)),
        ("http://10.0.0.1:3128/", Proxy("http", "10.0.0.1", 3128)),
        (f"mtproxy://{SECRET}@mt.example:443", Proxy("mtproxy", "mt.example", 443, secret=SECRET)),
        (f"mtproxy://DD{SECRET}@[::1]:8443", Proxy("mtproxy", "::1", 8443, secret=f"dd{SECRET}")),
    ],
)
def test_parses(url: str, proxy: Proxy) -> None:
    assert parse_proxy(url) == proxy


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("socks4://h:1", "unknown proxy type 'socks4'"),
        ("127.0.0.1:1080", "unknown proxy type"),
        ("socks5://h", "a host and a port are needed"),
        ("socks5://h:99999", "a host and a port are needed"),
        ("socks5://h:1/path", "nothing may follow host:port"),
        ("mtproxy://h:443", "needs its secret before the @"),
        (f"mtproxy://ee{SECRET}aabb@h:443", "fake-TLS proxies, are not supported"),
        ("mtproxy://abc@h:443", "32 hex digits"),
    ],
)
def test_refuses_with_the_reason(url: str, says: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_proxy(url)
    assert says in str(info.value)


def test_a_bad_tg_proxy_stops_jobs_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_PROXY", "socks5://user:hunter2@nowhere")
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert info.value.variable == "TG_PROXY" and "a host and a port are needed" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_proxy_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_PROXY", f"mtproxy://dd{SECRET}@mt.example:443")
    monkeypatch.setenv("HTTP_PROXY", "http://me:s3cret@127.0.0.1:3128")
    secrets = load_settings(None).secret_values()
    assert f"dd{SECRET}" in secrets and "s3cret" in secrets


def test_telethon_options_per_kind() -> None:
    assert network_options(None) == {}
    socks = network_options(Proxy("socks5", "h", 1080, "u", "p"))
    assert socks == {
        "proxy": {
            "proxy_type": "socks5",
            "addr": "h",
            "port": 1080,
            "username": "u",
            "password": "p",
            "rdns": True,
        }
    }
    assert network_options(Proxy("http", "h", 3128))["proxy"]["proxy_type"] == "http"
    mt = network_options(Proxy("mtproxy", "h", 443, secret=f"dd{SECRET}"))
    assert mt == {
        "connection": ConnectionTcpMTProxyRandomizedIntermediate,
        "proxy": ("h", 443, f"dd{SECRET}"),
    }
