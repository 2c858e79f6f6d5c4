# longrun: one process, one port (9469) for /metrics, /health, the admin API
# and the Alertmanager webhook. Build: docker build -t longrun .
# Settings come from the environment (see the README's settings table).

# --- build: wheels for longrun and its dependencies, no compilers in the result
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# .dockerignore lets only the package sources through
COPY . .
RUN pip wheel --wheel-dir /wheels .

# --- run
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LONGRUN_LISTEN=0.0.0.0:9469 \
    LONGRUN_STORE=sqlite:////var/lib/longrun/longrun.db
RUN groupadd --system --gid 10001 longrun \
 && useradd --system --uid 10001 --gid longrun --home-dir /var/lib/longrun --shell /usr/sbin/nologin longrun \
 && mkdir -p /var/lib/longrun \
 && chown longrun:longrun /var/lib/longrun
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels longrun && rm -rf /wheels

# numeric, so orchestrators can verify runAsNonRoot
USER 10001:10001
WORKDIR /var/lib/longrun
EXPOSE 9469

# Liveness from /health on the port LONGRUN_LISTEN names (9469 unless changed).
# python, because the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('LONGRUN_LISTEN', '0.0.0.0:9469').rpartition(':')[2]; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["longrun"]
CMD ["run"]
