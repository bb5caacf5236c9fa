# Multi-stage: build wheels with the toolchain, run on a slim image as a non-root user.
FROM python:3.12-slim AS build
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# The pages' browser libraries, exactly as package-lock.json pins them (never a CDN).
FROM node:20-slim AS npm
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.12-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/opt/venv/bin:$PATH"
RUN python -m venv /opt/venv \
    && useradd --create-home --uid 10001 marketpulse
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=marketpulse:marketpulse . .
COPY --from=npm --chown=marketpulse:marketpulse /build/node_modules ./node_modules
USER marketpulse
# Static files are collected at build time; SECRET_KEY is only needed to import settings.
RUN SECRET_KEY=build DATABASE_URL=postgresql://x/x REDIS_URL=redis://x \
    python manage.py collectstatic --noinput --verbosity 0
EXPOSE 8000
# A shell, for FORWARDED_ALLOW_IPS: uvicorn's own default trusts X-Forwarded-For from
# loopback; empty trusts no proxy (settings.py, FORWARDED_ALLOW_IPS).
CMD ["sh", "-c", "exec uvicorn marketpulse.asgi:application --host 0.0.0.0 --port 8000 \
--workers 2 --no-access-log --lifespan off --ws-max-size 65536 \
--forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-}\""]
