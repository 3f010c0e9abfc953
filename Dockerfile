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

COPY pyproject.toml README.md ./
COPY src ./src
COPY skills ./skills
# Editable: Jobs finds browser/ and skills/ next to its source, as in a checkout.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir -e /app

USER jobs
ENV PATH=/opt/venv/bin:/app/browser/node_modules/.bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    WORKSPACE_DIR=/workspace
VOLUME ["/data", "/workspace"]

# /health (jobs.health) answers 200 while Telegram is connected, the database answers and the
# event loop ticks; 503 otherwise. Listens on 127.0.0.1 inside the container only.
ENV HEALTH_PORT=8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import os, sys, urllib.request as u; sys.exit(0 if u.urlopen(f\"http://127.0.0.1:{os.environ['HEALTH_PORT']}/health\", timeout=4).status == 200 else 1)"]
CMD ["jobs", "run"]
