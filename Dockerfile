# Jobs (`jobs run`): Python app, the Claude Code CLI bundled with claude-agent-sdk, Node for
# the pinned Playwright MCP server and npm MCP servers. The browser has its own image
# (browser/Dockerfile); docker-compose.yml runs both.
# Node 20 is what @playwright/mcp 0.0.83 needs (playwright-core: node >= 20); Debian
# bookworm's own nodejs is 18, so the base is Node's bookworm image with Debian's Python 3.11.
FROM node:20-bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv git ca-certificates util-linux \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin jobs \
 && mkdir -p /data /workspace /downloads \
 && chown jobs:jobs /data /workspace

WORKDIR /app
# The pinned MCP server first: it changes less often than Jobs (layer cache).
COPY browser/package.json browser/package-lock.json browser/
RUN cd browser \
 && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# Every dependency at the version requirements.lock pins (scripts/lock), before Jobs' own
# source so that a code change reuses this layer.
COPY requirements.lock ./
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
COPY skills ./skills
# Editable: Jobs finds browser/ and skills/ next to its source, as in a checkout.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps -e /app

USER jobs
ENV PATH=/opt/venv/bin:/app/browser/node_modules/.bin:$PATH \
    PYTHONUNBUFFERED=1 \
    JOBS_HOME=/data \
    DATA_DIR=/data \
    WORKSPACE_DIR=/workspace
VOLUME ["/data", "/workspace"]

# `jobs health` asks /health (jobs.health) on HEALTH_PORT: healthy while Telegram is connected,
# the database answers and the event loop ticks; also when HEALTH_PORT=0 (off). Before
# `jobs login` it says it is waiting for it. Listens on 127.0.0.1 inside the container only.
ENV HEALTH_PORT=8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["jobs", "health"]
# JOBS_HOME=/data: `docker compose run --rm jobs jobs login` saves what it asks in the data
# volume. Until then `jobs run` waits (and says so) instead of exiting and restarting forever.
CMD ["jobs", "run", "--wait-for-login"]
