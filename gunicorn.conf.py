"""gunicorn reads this file from its working directory (the project root, /app in the image):
its own log lines (worker boots, timeouts) take the same format as Django's (LOG_FORMAT).
Requests are logged by config.request_context.RequestIdMiddleware, one line each with the
request id, user and duration; gunicorn's access log stays off unless --access-logfile asks."""
import os

from config.logging import logging_config

logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "text"), os.environ.get("LOG_LEVEL", "INFO"))
