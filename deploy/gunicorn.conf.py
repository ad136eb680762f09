"""gunicorn settings used by `baoxiu serve` (override the path with BAOXIU_GUNICORN_CONF)."""

import multiprocessing
import os

# Threads let one worker overlap database waits; the app is thread-safe (one session per request).
# 2 workers per core with 2 threads each, chosen with bench.hotpaths on a 2-core machine
# (docs/benchmarks.md): against 5 × 4 (the former default), 3 × 4 and 3 × 8 it served the most
# pool pages and grabs. More threads per worker spend CPU on the GIL handing over between them;
# fewer leave the grab's lock and commit waits with nothing to overlap them.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# The app is imported once, in the master, and each worker is a fork of it: a worker starts
# in milliseconds instead of re-importing everything (≈ 2 s of CPU, measured), which made
# recycling expensive under load (at 500 requests/s a worker was replaced every 10 s).
preload_app = True
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = 100_000
# Console filters repeat query keys (`status=…&status=…`); the default 4094-byte request line
# turned long filter lists into gunicorn's HTML 414 instead of an answer in the API's shape.
limit_request_line = 8190
max_requests_jitter = 10_000
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# Query values (phones and ID numbers typed into search boxes) never reach the access log, and
# every gunicorn log line is masked like the app's own (server/web/logging.py).
logger_class = "server.web.logging.GunicornLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """A forked worker must not share the master's database connections (the master opened
    none, but a pool must never cross a fork): start the worker's pool empty."""
    from server.wsgi import app

    app.extensions["baoxiu"].db.engine.dispose(close=False)
