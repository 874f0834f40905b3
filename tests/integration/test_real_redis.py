"""The command path against the real Redis and PostgreSQL; Redis stopped and restarted."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from remedy import memory
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import only_thread

pytestmark = pytest.mark.integration


def test_work_through_real_redis_and_postgres(sandbox: Sandbox, pg_url: str, redis_url: str) -> None:
    rt = Runtime.start(sandbox, pg_url, redis_url=redis_url, REMEDY_RETRY_DELAYS=[0])
    try:
        sent = rt.slash("work CPE-3222")
        assert sent.ack_text.startswith("⏳")
        rt.drain()
        assert len(only_thread(sandbox.slack_state)) == 2
        assert memory.get_focus(rt.services.db, "U01ALICE") == "CPE-3222"
        view = sandbox.slack_state.response_view(sent.response_url)
        assert view is not None and view.text.startswith("✅")
    finally:
        rt.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own, so stopping it cannot disturb anything else."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)], stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed; run scripts/ensure-services.sh")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_down_is_told_and_restart_recovers(sandbox: Sandbox, sqlite_url: str,
                                                 private_redis: PrivateRedis) -> None:
    rt = Runtime.start(sandbox, sqlite_url, redis_url=private_redis.url, REMEDY_RETRY_DELAYS=[0])
    try:
        private_redis.stop()
        down = rt.slash("work CPE-3222")
        assert down.status == 200 and "can't reach my job queue" in down.ack_text
        assert sandbox.slack_state.messages("C0CPETEAM") == []

        private_redis.start()
        up = rt.slash("work CPE-3222")
        assert up.ack_text.startswith("⏳")
        rt.drain()
        assert len(only_thread(sandbox.slack_state)) == 2
    finally:
        rt.stop()
        private_redis.stop()
