"""Migration 0030 fills the pinyin keys of customers written before it, in batches, as the
model spells them (`server.directory.rules.pinyin_keys`)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, pool, text

from server.db import migrate
from server.directory.rules import pinyin_keys
from server.runtime import sqlalchemy_url
from tests.db.test_migrations import empty_database  # noqa: F401  (the fixture)


def test_existing_customers_get_their_keys(empty_database):  # noqa: F811
    config = migrate.alembic_config(empty_database)
    command.upgrade(config, "0029_dictionary")
    names = ["张三", "李小四", "Tom Li", "深圳市万家物业有限公司", "ＡＢ 曾"]
    engine = create_engine(sqlalchemy_url(empty_database), poolclass=pool.NullPool)
    with engine.begin() as conn:
        org = conn.execute(
            text(
                "INSERT INTO organisations (code, name, default_grab_cap, created_at, updated_at)"
                " VALUES ('o', '物业', 5, now(), now()) RETURNING id"
            )
        ).scalar_one()
        for name in names:
            conn.execute(
                text(
                    "INSERT INTO customers (org_id, kind, name, remark, emergency_name,"
                    " created_at, updated_at) VALUES (:org, 'person', :name, '', '', now(), now())"
                ),
                {"org": org, "name": name},
            )
    command.upgrade(config, "0030_search_plates_pinyin")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, name_initials, name_pinyin FROM customers ORDER BY id")
        ).all()
    engine.dispose()
    assert [(n, (i, p)) for n, i, p in rows] == [(n, pinyin_keys(n)) for n in names]
    assert rows[0][1:] == ("zs", "zhangsan")
