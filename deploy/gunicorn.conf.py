"""gunicorn settings used by `baoxiu serve` (override the path with BAOXIU_GUNICORN_CONF)."""

import multiprocessing
import os

# Threads let one worker overlap database waits; the app is thread-safe (one session per request).
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = 5000
# Console filters repeat query keys (`status=…&status=…`); the default 4094-byte request line
# turned long filter lists into gunicorn's HTML 414 instead of an answer in the API's shape.
limit_request_line = 8190
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# Query values (phones and ID numbers typed into search boxes) never reach the access log, and
# every gunicorn log line is masked like the app's own (server/web/logging.py).
logger_class = "server.web.logging.GunicornLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
