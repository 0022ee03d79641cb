"""Korean search at scale: 100 000 resources in a scratch PostgreSQL database; compares a plain
ILIKE scan with the bigram GIN narrowing that resources.search uses.

  .venv/bin/python scripts/bench_search.py [--rows 100000] [--admin-url postgresql+psycopg://postgres@127.0.0.1/postgres]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))
from hanaro.resources.search import tokens  # noqa: E402

WORDS = ["집수리", "도배", "김장김치", "나눔", "돌봄", "주거", "방문", "목욕", "반찬", "도시락", "학습", "멘토링", "상담",
         "병원", "동행", "이불", "세탁", "난방", "연료", "쌀", "후원", "의료비", "긴급", "생계", "주거환경", "개선"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS hanaro_bench_search WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE hanaro_bench_search"))
    engine = create_engine(args.admin_url.rsplit("/", 1)[0] + "/hanaro_bench_search")
    rng = random.Random(1)
    rows = []
    for i in range(args.rows):
        description = " ".join(rng.sample(WORDS, 4)) + f" 지원 {i}"
        rows.append({"id": i, "description": description, "terms": " ".join(sorted(tokens(description)))})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE r (id int primary key, description text, search_terms text)"))
        connection.execute(text("INSERT INTO r VALUES (:id, :description, :terms)"), rows)
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        connection.execute(text("CREATE INDEX r_trgm ON r USING gin (description gin_trgm_ops)"))
        connection.execute(text("CREATE INDEX r_bigrams ON r USING gin (string_to_array(search_terms, ' '))"))
        connection.execute(text("ANALYZE r"))
    queries = {
        "trigram index, ILIKE '%집수%'": "SELECT count(*) FROM r WHERE description ILIKE '%집수%'",
        "bigram GIN @> + ILIKE '%집수%'": ("SELECT count(*) FROM r WHERE string_to_array(search_terms, ' ') @> "
                                          "ARRAY['집수']::text[] AND description ILIKE '%집수%'"),
        "trigram index, ILIKE '%돌봄%'": "SELECT count(*) FROM r WHERE description ILIKE '%돌봄%'",
        "bigram GIN @> + ILIKE '%돌봄%'": ("SELECT count(*) FROM r WHERE string_to_array(search_terms, ' ') @> "
                                          "ARRAY['돌봄']::text[] AND description ILIKE '%돌봄%'"),
    }
    print(f"{args.rows} rows")
    with engine.connect() as connection:
        for name, sql in queries.items():
            connection.execute(text(sql))  # warm
            started = time.perf_counter()
            for _ in range(5):
                found = connection.execute(text(sql)).scalar()
            elapsed = (time.perf_counter() - started) / 5 * 1000
            print(f"{name:<36} {found:>7} rows   {elapsed:8.1f} ms")
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE hanaro_bench_search WITH (FORCE)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
