# Stepwise production image: one image for the web, worker and beat services
# (docker-compose.yml picks the command). Dependencies come from the same pinned
# files as `make setup`: torch==2.13.0 first, then requirements.txt under
# constraints.txt (runtime only; requirements-dev.txt stays out of the image).
# Front-end libraries (KaTeX, markdown-it) from npm, as package-lock.json pins them.
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

# Optional: a wheel index for torch only, e.g. PyTorch's CPU-only index, to keep
# the CUDA packages out of the image:
#   docker compose build --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index URL>
# Left empty, torch comes from the default index like everything else.
ARG TORCH_INDEX_URL=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    STEPWISE_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    MODEL_DIR=/data/models \
    HF_HOME=/data/models/.huggingface \
    HF_HUB_OFFLINE=1

WORKDIR /app

# torch first and pinned, so that nothing below can pull a different one.
RUN pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0

COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

# The code stays owned by root (read-only for the app user); only var/ and the
# mount points of the named volumes are writable. Docker copies a mount point's
# owner into a new, empty named volume, so the volumes start writable too.
RUN groupadd --system --gid 10001 stepwise \
    && useradd --system --uid 10001 --gid stepwise --home-dir /app/var --no-create-home stepwise

COPY . .
COPY --from=assets /assets/node_modules /app/node_modules

# Static files are collected into the image; whitenoise serves them. The
# SECRET_KEY here is a throwaway for this one step only: it is not an ARG or an
# ENV, so it is not kept in the image or its history.
RUN SECRET_KEY=collectstatic-build-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var /data/models /data/media \
    && chown -R stepwise:stepwise /app/var /data

USER stepwise

EXPOSE 8000

ENTRYPOINT ["sh", "/app/scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
