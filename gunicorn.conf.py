"""gunicorn settings for the Procfile's web process (read from the environment)."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
# Each worker imports the app itself, so each starts its own scheduler thread (if enabled):
# never preload, or the scheduler would be started in the master and lost at fork.
preload_app = False
# Attempts in flight finish before a worker exits (WEBHOOKS_TIMEOUT_SECONDS, 10 s by default).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
timeout = 60
control_socket_disable = True  # gunicorn 27 would otherwise create ~/.gunicorn
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"

# WEBHOOKS_LOG_FORMAT=json: gunicorn's own error and access lines are JSON objects too, with the
# same time/level/logger/message keys as the app's (webhooks/logs.py).
if os.environ.get("WEBHOOKS_LOG_FORMAT", "").strip().lower() == "json":
    from webhooks.logs import gunicorn_logconfig

    logconfig_dict = gunicorn_logconfig()
