"""`flask worker`: an rq worker with the application loaded (production)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--queue", "queues", multiple=True, default=["default"], help="queues to listen on")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
@with_appcontext
def worker_command(queues, burst):
    """Run background jobs from Redis (REDIS_URL)."""
    import redis
    from rq import Worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in-process")
    connection = redis.Redis.from_url(url)
    Worker(list(queues), connection=connection).work(burst=burst)
