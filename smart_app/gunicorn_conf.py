"""gunicorn settings for ``make run`` and deployments: ``gunicorn -c python:smart_app.gunicorn_conf``.

Worker model: gthread workers with many threads. A thread waiting on an EHR
costs little, and the per-EHR guard (``smart_app.chart.breaker``) lets one
EHR hold at most ``MAX_IN_FLIGHT`` threads of a worker, so a hung EHR leaves
the others, and ``/healthz``, free. The app's own events (launch, referral)
go to stderr at INFO as the audit trail; they carry our ids only, never PHI.
Access logs stay off: request lines carry launch codes and patient ids.
"""

from __future__ import annotations

import os

from smart_app.chart.breaker import MAX_IN_FLIGHT

wsgi_app = "smart_app:create_app()"
worker_class = "smart_app.serve.SecureThreadWorker"
workers = int(os.environ.get("SMART_APP_WORKERS", "2"))
threads = int(os.environ.get("SMART_APP_THREADS", str(2 * MAX_IN_FLIGHT)))
timeout = 60  # a worker silent this long is restarted; EHR calls time out well before
graceful_timeout = 20
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None
control_socket_disable = True  # no runtime admin socket in $HOME: nothing of ours uses it
errorlog = "-"
loglevel = "info"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    },
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "smart_app": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}
