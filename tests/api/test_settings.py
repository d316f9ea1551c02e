"""Connection settings: base_url rules, credentials, and secrets kept out of repr."""

from __future__ import annotations

import pytest

from recras_api.errors import RecrasConfigError
from recras_api.settings import ConnectionSettings, is_loopback_host, normalize_base_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://demo.recras.nl", "https://demo.recras.nl"),
        ("https://demo.recras.nl/", "https://demo.recras.nl"),
        ("https://demo.recras.com/api2/", "https://demo.recras.com"),
        ("https://demo.recras.nl/api2.php", "https://demo.recras.nl"),
        (" https://demo.recras.nl ", "https://demo.recras.nl"),
        ("https://proxy.example.org/recras", "https://proxy.example.org/recras"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:8080/api2", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://127.9.9.9", "http://127.9.9.9"),
    ],
)
def test_base_url_forms_normalize_to_the_instance_root(raw: str, expected: str) -> None:
    assert normalize_base_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("http://demo.recras.nl", "must use https://"),
        ("http://10.0.0.5", "must use https://"),
        ("http://localhost.evil.example", "must use https://"),
        ("demo.recras.nl", "full URL"),
        ("ftp://demo.recras.nl", "full URL"),
        ("https://", "full URL"),
        ("https://demo.recras.nl/?x=1", "query"),
        ("https://user:pw@demo.recras.nl", "credentials"),
    ],
)
def test_bad_base_urls_are_refused_with_a_reason(raw: str, complaint: str) -> None:
    with pytest.raises(RecrasConfigError, match=complaint):
        normalize_base_url(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "http://user:SECRET-PW-321@demo.recras.nl",
        "ftp://user:SECRET-PW-321@demo.recras.nl",
        "https://SECRET-PW-321@demo.recras.nl/?x=1",
    ],
)
def test_credentials_in_base_url_are_refused_without_quoting_them(raw: str) -> None:
    with pytest.raises(RecrasConfigError, match="credentials") as caught:
        normalize_base_url(raw)
    assert "SECRET-PW-321" not in str(caught.value)


def test_loopback_detection() -> None:
    assert is_loopback_host("localhost")
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("::1")
    assert not is_loopback_host("192.168.1.1")
    assert not is_loopback_host("demo.recras.nl")


def test_api_key_wins_over_basic_auth() -> None:
    settings = ConnectionSettings.from_config(
        {"base_url": "https://x.recras.nl", "api_key": "k", "username": "u", "password": "p"},
        "ua",
    )
    assert settings.api_key == "k"
    assert settings.username is None
    assert settings.password is None


def test_basic_auth_fallback() -> None:
    settings = ConnectionSettings.from_config(
        {"base_url": "https://x.recras.nl", "username": "u", "password": "p"}, "ua/1"
    )
    assert settings.api_key is None
    assert (settings.username, settings.password) == ("u", "p")
    assert settings.user_agent == "ua/1"


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        ({"api_key": "k"}, "base_url is required"),
        ({"base_url": "https://x.recras.nl"}, "No credentials"),
        ({"base_url": "https://x.recras.nl", "username": "u"}, "No credentials"),
        ({"base_url": "https://x.recras.nl", "api_key": "k", "request_timeout": -1}, "positive"),
    ],
)
def test_unusable_config_names_the_setting(config: dict[str, object], complaint: str) -> None:
    with pytest.raises(RecrasConfigError, match=complaint):
        ConnectionSettings.from_config(config, "ua")


def test_secrets_stay_out_of_repr() -> None:
    settings = ConnectionSettings.from_config(
        {"base_url": "https://x.recras.nl", "api_key": "SECRET-KEY-123"}, "ua"
    )
    basic = ConnectionSettings.from_config(
        {"base_url": "https://x.recras.nl", "username": "u", "password": "SECRET-PW-456"}, "ua"
    )
    assert "SECRET-KEY-123" not in repr(settings)
    assert "SECRET-PW-456" not in repr(basic)


@pytest.mark.parametrize("api_key", ["SECRET-KEY-789\n", "SECRET-KEY-789\r\nX-Other: 1"])
def test_an_api_key_with_a_line_break_is_refused_without_quoting_it(api_key: str) -> None:
    config = {"base_url": "https://x.recras.nl", "api_key": api_key}
    with pytest.raises(RecrasConfigError, match="api_key contains a line break") as caught:
        ConnectionSettings.from_config(config, "ua")
    assert "SECRET-KEY-789" not in str(caught.value)
