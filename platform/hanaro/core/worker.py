"""`flask worker`: an rq worker with the application loaded (production).

The worker runs jobs in its own process, one after the other (rq's ``SimpleWorker``), instead of
forking a child per job as rq's default ``Worker`` does. A forked child starts with cold caches: it
configures the mappers and compiles its SQL again for every job, which made a ~45 ms delivery job
cost ~104 ms. Here the app, its mappers and compiled statements are loaded once, and each job gets
a fresh app context (its own database session and ``g``), so nothing of one job's state reaches
the next.

The trade-off: no process boundary between jobs. A job's timeout is still enforced (rq's SIGALRM
raises in the job, which rolls back), but a crash of the interpreter or a kill takes the whole worker
down instead of one child; the job it was running stays in rq's started registry until its heartbeat
expires, and rq then moves it to the failed registry. Work is never lost that way: every job is
idempotent and the database-backed sweeps find what a dead worker left. Run more worker processes
(one or two per core) for throughput and isolation; let the process manager restart a dead one.
"""
from __future__ import annotations

import gc

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def make_worker(app: Flask, queues, connection):
    """A non-forking rq worker running every job in a fresh app context of ``app``."""
    from rq import SimpleWorker

    class AppWorker(SimpleWorker):
        def execute_job(self, job, queue):
            with app.app_context():
                return super().execute_job(job, queue)

    return AppWorker(list(queues), connection=connection)


@click.command("worker")
@click.option("--queue", "queues", multiple=True, default=["default"], help="queues to listen on")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
@click.option("--scheduler/--no-scheduler", default=True,
              help="also move due retries and delayed jobs onto the queue (rq's scheduler)")
@with_appcontext
def worker_command(queues, burst, scheduler):
    """Run background jobs from Redis (REDIS_URL)."""
    import redis

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in-process")
    connection = redis.Redis.from_url(url)
    worker = make_worker(current_app._get_current_object(), queues, connection)
    # What is loaded now lives as long as the worker: keep it out of every garbage collection
    # (collections walking the app's objects cost a delivery batch a third of its time).
    gc.collect()
    gc.freeze()
    worker.work(burst=burst, with_scheduler=scheduler)
