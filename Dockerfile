# Production image: gunicorn serving Hanaro as a non-root user.
#   docker build -t hanaro .
#   docker run -e DATABASE_URL=... -e SECRET_KEY=... -e HANARO_DATA_KEY=... -p 8000:8000 hanaro
# The same image runs migrations (`flask db upgrade`) and the rq worker (`flask worker`).
# Behind the TLS-terminating proxy, add -e HANARO_TRUSTED_PROXIES=1 (README, "Production").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FLASK_APP=hanaro PIP_NO_CACHE_DIR=1
# X-Forwarded-For is ignored unless the deployment says how many proxies add it.
ENV HANARO_TRUSTED_PROXIES=0
WORKDIR /app

RUN groupadd --system hanaro && useradd --system --gid hanaro --home-dir /app --shell /usr/sbin/nologin hanaro

COPY pyproject.toml ./
COPY platform ./platform
RUN pip install --upgrade pip && pip install -e .

COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY tenants ./tenants
COPY babel.cfg ./
RUN pybabel compile -d platform/hanaro/translations

USER hanaro
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["gunicorn", "--workers", "2", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "hanaro:create_app()"]
