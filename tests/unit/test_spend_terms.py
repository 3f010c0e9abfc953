"""What the owner writes about spending: models and budget limits, and their refusals."""

from __future__ import annotations

import pytest

from jobs.spend_terms import Limit, Models, models, money, parse_limit, parse_models, tokens


@pytest.mark.parametrize(
    ("written", "limit"),
    [
        ("$1.50", Limit(1.5, "usd")),
        ("1.5 usd", Limit(1.5, "usd")),
        ("2$", Limit(2.0, "usd")),
        (" $ 3 ", Limit(3.0, "usd")),
        ("$1,000", Limit(1000.0, "usd")),
        ("$0", Limit(0.0, "usd")),
        ("200k tokens", Limit(200_000, "tokens")),
        ("200k", Limit(200_000, "tokens")),
        ("1.5M tokens", Limit(1_500_000, "tokens")),
        ("50000 tokens", Limit(50_000, "tokens")),
        ("off", None),
        ("No limit", None),
    ],
)
def test_limits(written: str, limit: Limit | None) -> None:
    assert parse_limit(written) == limit


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("100", "100 of what? Write $100 for dollars or 100 tokens for tokens"),
        ("lots", "'lots' is not a budget: write it as $2.50, as 200k tokens, or off"),
        ("-1 tokens", "is not a budget"),
        ("$1000000", "$1,000,000.00 is more than I take as a budget"),
        ("5000000M tokens", "is more than I take as a budget"),
        ("$1.2.3", "is not a budget"),
    ],
)
def test_bad_limits_say_how_to_write_them(written: str, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_limit(written)
    assert said in str(caught.value)


def test_limit_reached_and_shown() -> None:
    assert Limit(0.5, "usd").reached(cost_usd=0.5, used_tokens=0)
    assert not Limit(0.5, "usd").reached(cost_usd=0.49, used_tokens=10**9)
    assert Limit(1000, "tokens").reached(cost_usd=0, used_tokens=1000)
    assert [money(0.004), money(0.5), money(1234.5)] == ["$0.0040", "$0.50", "$1,234.50"]
    assert [tokens(2e6), tokens(2e5), tokens(5000)] == ["2M tokens", "200k tokens", "5,000 tokens"]
    # Three figures at most, never an exponent.
    assert [tokens(21_366), tokens(999_999), tokens(2.5e9)] == [
        "21.4k tokens",
        "1M tokens",
        "2,500M tokens",
    ]


def test_models() -> None:
    assert parse_models("opus,sonnet") == Models("opus", "sonnet")
    assert parse_models("Haiku") == Models("haiku")
    assert parse_models("default, haiku") == Models(None, "haiku")
    assert parse_models("claude-sonnet-4-5, claude-3-5-haiku-20241022") == Models(
        "claude-sonnet-4-5", "claude-3-5-haiku-20241022"
    )
    assert models("sonnet", "none") == Models("sonnet")
    assert Models("opus", "sonnet").describe() == "opus, falling back to sonnet"
    assert Models().describe() == "Claude Code's default"


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("gpt-4", "'gpt-4' is not a model I know: use opus, sonnet or haiku"),
        ("opus,opus", "the fallback must be another model than the model itself"),
        ("opus,default", "the fallback must be a model, not default"),
        ("opus,sonnet,haiku", "expected a model, or a model and a fallback"),
        ("claude-; rm -rf", "is not a model I know"),
        ("--dangerously-skip-permissions", "is not a model I know"),
    ],
)
def test_bad_models_say_what_is_accepted(written: str, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_models(written)
    assert said in str(caught.value)
