import pytest
from redis.connection import AbstractConnection


@pytest.fixture
def redis_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write to a Redis socket from here on, in order: one per round trip (a
    pipeline's commands go in one write). Clear it after the test's set-up requests."""
    writes: list[bytes] = []
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):  # type: ignore[no-untyped-def]
        writes.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return writes
