"""System checks for settings limited to a known set or range: a bad value stops
`manage.py check` (and so every start: `runserver`, `migrate`, the test run, bin/serve)
with the variable's name, instead of failing at first use hours later.

Each app checks its own settings (the ingest ones are in `prices/ingest/checks.py`);
these are the project's.
"""

import ipaddress
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
CURRENCY = re.compile(r"^[A-Z]{3,5}$")


def at_least(minimum: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok and value >= minimum else f"must be a number >= {minimum}"

    return check


def between(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok and low <= value <= high else f"must be in [{low}, {high}]"

    return check


def one_of(choices: Sequence[str]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def matches(pattern: re.Pattern[str], example: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, str) and pattern.match(value)
        return None if ok else f"must look like {example!r}"

    return check


def check_values(
    rules: Sequence[tuple[str, Any, Callable[[Any], str | None]]], *, prefix: str
) -> list[CheckMessage]:
    """One error per (environment variable, value, rule) that the value breaks."""
    errors: list[CheckMessage] = []
    for index, (variable, value, rule) in enumerate(rules, start=1):
        if problem := rule(value):
            errors.append(
                Error(
                    f"{variable}={value!r}: {problem}.",
                    hint=f"Fix {variable} in the environment (see .env.example).",
                    id=f"{prefix}.E{index:03d}",
                )
            )
    return errors


def proxy_addresses(value: Any) -> str | None:
    """uvicorn takes a malformed entry for a literal and trusts nothing: say so here."""
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"{entry!r} is not an IP address or network"
    return None


def _rules() -> list[tuple[str, Any, Callable[[Any], str | None]]]:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    access: timedelta = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    refresh: timedelta = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    rate = matches(RATE, "600/min")
    return [
        ("THROTTLE_RATE_ANON", rates["anon"], rate),
        ("THROTTLE_RATE_USER", rates["user"], rate),
        ("THROTTLE_RATE_LOGIN", rates["login"], rate),
        ("FORWARDED_ALLOW_IPS", settings.FORWARDED_ALLOW_IPS, proxy_addresses),
        ("NUM_PROXIES", settings.REST_FRAMEWORK["NUM_PROXIES"], between(0, 10)),
        ("API_CACHE_TTL", settings.API_CACHE_TTL, between(0, 86_400)),
        ("API_CACHE_HELD_BYTES", settings.API_CACHE_HELD_BYTES, between(0, 2**34)),
        (
            "HISTORY_MAX_AGGREGATED_ROWS",
            settings.HISTORY_MAX_AGGREGATED_ROWS,
            between(10_000, 100_000_000),
        ),
        ("HTTP_THREADS", settings.HTTP_THREADS, between(1, 256)),
        ("RATE_LIMIT_BATCH_MS", settings.RATE_LIMIT_BATCH_MS, between(0, 1000)),
        ("LOG_LEVEL", settings.LOG_LEVEL, one_of(LOG_LEVELS)),
        ("QUOTE_CURRENCY", settings.QUOTE_CURRENCY, matches(CURRENCY, "USD")),
        ("WS_MAX_CONNECTIONS_PER_IP", settings.WS_MAX_CONNECTIONS_PER_IP, at_least(1)),
        (
            "WS_CONNECTION_LEASE_SECONDS",
            settings.WS_CONNECTION_LEASE_SECONDS,
            at_least(3),
        ),
        ("WS_MAX_SUBSCRIPTIONS", settings.WS_MAX_SUBSCRIPTIONS, at_least(1)),
        ("WS_MAX_MESSAGE_CHARS", settings.WS_MAX_MESSAGE_CHARS, between(64, 1_048_576)),
        ("WS_SEND_QUEUE", settings.WS_SEND_QUEUE, at_least(1)),
        ("WS_REPLAY_MAX_SPEED", settings.WS_REPLAY_MAX_SPEED, between(0.001, 1e7)),
        (
            "WS_REPLAY_DEFAULT_SPEED",
            settings.WS_REPLAY_DEFAULT_SPEED,
            between(0.001, settings.WS_REPLAY_MAX_SPEED),
        ),
        ("WS_REPLAY_PAGE", settings.WS_REPLAY_PAGE, between(1, 100_000)),
        ("WS_REPLAYS_PER_IP", settings.WS_REPLAYS_PER_IP, at_least(1)),
        ("WS_REPLAYS_PER_PROCESS", settings.WS_REPLAYS_PER_PROCESS, at_least(1)),
        (
            "WS_REPLAY_STALL_SECONDS",
            settings.WS_REPLAY_STALL_SECONDS,
            between(0.1, 3600),
        ),
        ("WS_MESSAGE_RATE", settings.WS_MESSAGE_RATE, between(0.01, 10_000)),
        ("WS_MESSAGE_BURST", settings.WS_MESSAGE_BURST, between(1, 100_000)),
        ("WS_DB_THREADS", settings.WS_DB_THREADS, between(1, 64)),
        ("CELERY_TASK_TIME_LIMIT", settings.CELERY_TASK_TIME_LIMIT, at_least(1)),
        ("DB_CONN_MAX_AGE", settings.DATABASES["default"]["CONN_MAX_AGE"], at_least(0)),
        (
            "JWT_ACCESS_MINUTES",
            access.total_seconds() / 60,
            between(1, 24 * 60),
        ),
        (
            "JWT_REFRESH_DAYS",
            refresh.days,
            between(1, 365),
        ),
        ("LOGIN_FAILURE_LIMIT", settings.AXES_FAILURE_LIMIT, between(1, 1000)),
        (
            "LOGIN_LOCKOUT_MINUTES",
            settings.AXES_COOLOFF_TIME.total_seconds() / 60,
            between(1, 7 * 24 * 60),
        ),
        ("HEALTH_CACHE_SECONDS", settings.HEALTH_CACHE_SECONDS, between(0, 300)),
        ("API_KEY_TOUCH_SECONDS", settings.API_KEY_TOUCH_SECONDS, at_least(0)),
        ("IDEMPOTENCY_TTL_HOURS", settings.IDEMPOTENCY_TTL_HOURS, at_least(1)),
    ]


# Django's own deploy check (security.W009) asks for 50 characters, 5 of them different.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
# Keys that were published (this repository's old compose default, its lint placeholder,
# the Dockerfile's build-time one) or read like a placeholder: anyone can sign tokens
# with them.
PUBLISHED_SECRET_KEYS = frozenset(
    {
        "change-me-in-production-this-is-not-secret",
        "lint-only-placeholder-not-a-secret-0123456789abcdef",
        "build",
    }
)
PLACEHOLDER_WORDS = (
    "change-me",
    "changeme",
    "not-secret",
    "not-a-secret",
    "placeholder",
    "insecure",
    "example",
)


def secret_key_problem(key: str) -> str | None:
    """Why this key cannot sign tokens in production, or None. Never quotes the key."""
    if key in PUBLISHED_SECRET_KEYS:
        return "is a published value"
    if any(word in key.lower() for word in PLACEHOLDER_WORDS):
        return "looks like a placeholder"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"is shorter than {SECRET_KEY_MIN_LENGTH} characters"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE:
        return f"has fewer than {SECRET_KEY_MIN_UNIQUE} different characters"
    return None


@register("settings", "security")
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECRET_KEY signs the JWTs: a guessable one lets anyone mint an operator's token.
    DEBUG (a developer's machine) is let through."""
    if settings.DEBUG:
        return []
    problem = secret_key_problem(settings.SECRET_KEY)
    if problem is None:
        return []
    return [
        Error(
            f"SECRET_KEY {problem}: tokens signed with it can be forged.",
            hint="Set SECRET_KEY to a long random value, e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(50))"`.',
            id="marketpulse.E100",
        )
    ]


def refuse_weak_secret_key() -> None:
    """For the web process, which runs no system checks of its own: stop at import."""
    if errors := check_secret_key():
        raise ImproperlyConfigured(errors[0].msg)


@register("settings")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return check_values(_rules(), prefix="marketpulse")
