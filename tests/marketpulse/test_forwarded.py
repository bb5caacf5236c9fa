"""The client address comes from the socket unless the peer is a proxy named in
`FORWARDED_ALLOW_IPS`: a local client cannot pick its own rate-limit bucket with a forged
`X-Forwarded-For`. Through the real server, started as production starts it."""

import httpx
import pytest

from tests import servers
from tests.factories import UserFactory

pytestmark = pytest.mark.slow

TOKEN = "/api/v1/auth/token/"


def login_statuses(base_url: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return [
            client.post(
                TOKEN,
                json={"username": "alice", "password": "wrong"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for address in forwarded
        ]


def test_a_new_forwarded_for_on_each_login_does_not_escape_the_throttle(server_env):
    UserFactory(username="alice")
    # The lockout (test_lockout.py) is not what is tested here: well out of the way. Per
    # hour: five slow logins (~0.7 s each) straddled a minute's fixed window in CI.
    env = {**server_env, "THROTTLE_RATE_LOGIN": "3/hour", "LOGIN_FAILURE_LIMIT": "100"}
    env.pop("FORWARDED_ALLOW_IPS", None)
    with servers.asgi_server(env) as base_url:
        statuses = login_statuses(base_url, [f"198.51.100.{n}" for n in range(5)])
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429], statuses


def test_a_proxy_named_in_the_setting_is_believed(server_env):
    UserFactory(username="alice")
    env = {
        **server_env,
        "THROTTLE_RATE_LOGIN": "3/min",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "LOGIN_FAILURE_LIMIT": "100",
    }
    with servers.asgi_server(env) as base_url:
        statuses = login_statuses(base_url, [f"198.51.100.{n}" for n in range(5)])
    # Each forwarded client has a bucket of its own behind a trusted proxy.
    assert statuses == [401] * 5


def test_every_way_the_web_server_starts_passes_the_setting():
    """uvicorn's own default trusts loopback: the Procfile, the Dockerfile and compose
    each say whom to trust, from the one setting."""
    flag = '--forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-}"'
    for name in ("Procfile", "Dockerfile", "docker-compose.yml"):
        text = (servers.BASE_DIR / name).read_text().replace('\\"', '"')
        starts = text.count("uvicorn marketpulse.asgi:application")
        assert starts == 1, name
        assert text.count(flag) == 1, name
