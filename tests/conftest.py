"""Shared fixtures: simulators on 127.0.0.1, the embedded runtime, real Redis and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from remedy.db.models import Base
from remedy.db.session import make_engine
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("REMEDY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REMEDY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox.start()
    yield sb
    sb.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'remedy.db'}"


@pytest.fixture
def pg_url() -> str:
    """The real PostgreSQL, emptied: every table and Alembic's version row dropped."""
    engine = make_engine(PG_URL)
    try:
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    except Exception as exc:  # pragma: no cover - tells the developer what to start
        pytest.fail(f"PostgreSQL at {PG_URL} is not usable ({exc}); run scripts/ensure-services.sh")
    finally:
        engine.dispose()
    return PG_URL


@pytest.fixture
def redis_url() -> str:
    """The real Redis (a database of its own for tests), emptied."""
    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        conn.flushdb()
    except redis.RedisError as exc:  # pragma: no cover
        pytest.fail(f"Redis at {REDIS_URL} is not usable ({exc}); run scripts/ensure-services.sh")
    return REDIS_URL


@pytest.fixture
def runtime(sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    """Embedded default: SQLite, fakeredis, in-process worker, simulators over HTTP.
    One try per Jira call and one immediate job retry, so failure paths run fast (the client's
    own retries are tested in test_jira_client)."""
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1)
    yield rt
    rt.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'remedy.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url
