# One image for web, worker and beat; the command picks the role.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 WEBMAIL_DATA_DIR=/data
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt package.json package-lock.json ./
RUN pip install --no-cache-dir -r requirements.txt \
    && npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN mkdir -p static/vendor \
    && cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js \
    && cp node_modules/htmx-ext-sse/dist/sse.min.js static/vendor/htmx-sse.min.js \
    && cp node_modules/squire-rte/dist/squire.js static/vendor/squire.js \
    && SECRET_KEY=build CREDENTIALS_KEYS=build python manage.py collectstatic --noinput \
    && useradd --system --home /app webmail && mkdir -p /data/uploads && chown -R webmail /data
USER webmail
EXPOSE 8000
CMD ["uvicorn", "webmail.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
