# The image of the scaled deployment (docker-compose.yml): daphne by default (the web service), gunicorn
# for the http service (its command), and the migrations and job workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_MEDIA_ROOT=/data/media

WORKDIR /app

RUN groupadd --system --gid 10001 chat \
    && useradd --system --uid 10001 --gid chat --home-dir /app --no-create-home --shell /usr/sbin/nologin chat

# Every package pinned with its hashes (requirements.lock, compiled by `make lock`): what CI tested.
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

COPY . .

# collectstatic only reads settings; the key is a placeholder that never signs anything.
RUN DJANGO_SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /data/media \
    && chown chat:chat /data/media
# An empty named volume mounted on /data/media starts with this directory's owner, so uploads are writable.

USER chat
# daphne (web: sockets) and gunicorn (http: everything else, chatsite/gunicorn_conf.py).
EXPOSE 8000 8001

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py", "http://127.0.0.1:8000/healthz"]

# chatsite.serve is daphne's command line with bounded request bodies and headers (README "Security") and an
# access log that redacts tokens from query strings; never run plain daphne.
CMD ["python", "-m", "chatsite.serve", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers"]
