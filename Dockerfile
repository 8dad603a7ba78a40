# Tourniquet: one image for web (gunicorn + uvicorn workers), Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_DEBUG=0

WORKDIR /app

# Dependencies first, so code changes do not reinstall them: exactly the pinned, hashed set
# (requirements-prod.lock, written by `make lock`), nothing resolved at build time.
COPY requirements-prod.lock ./
RUN pip install --require-hashes -r requirements-prod.lock

COPY . .
RUN pip install --no-deps . \
    && python manage.py compile_translations \
    && DJANGO_SECRET_KEY=build-only STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage \
       python manage.py collectstatic --noinput -v 0 \
    && useradd --create-home --uid 10001 tourniquet \
    && mkdir -p /app/media \
    && chown -R tourniquet /app

USER tourniquet
ENV STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage
EXPOSE 8000

CMD ["gunicorn", "helpdesk.asgi:application", "-k", "uvicorn.workers.UvicornWorker", \
     "-w", "2", "-b", "0.0.0.0:8000", "--access-logfile", "-"]
