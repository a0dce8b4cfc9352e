"""A new, empty database on a PostgreSQL server, for tests and benchmarks that must not share
rows with anything else on it (the search's tests refuse a store holding several models)."""

from __future__ import annotations

import uuid


def fresh_database(server_url: str, prefix: str = "codesign") -> str:
    """Create a database named ``prefix_<random>`` on the server of ``server_url`` (its user
    needs CREATEDB) and return the same URL pointing at it."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
