#!/usr/bin/env bash
# Install everything worktrack needs into .venv (and, with --with-browser, the Debian packages
# the browser and deployment tests need: chromium, CJK fonts, nginx to check deploy/nginx.conf, and
# postgresql, whose server the tests start in a temporary directory to run the store on PostgreSQL).
# Safe to run again; does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_COMPILE_BYTECODE=1   # compiled bytecode: imports are ~2.5x faster without .pyc files

if [ "${1:-}" = "--with-browser" ]; then
  if ! dpkg -s chromium fonts-noto-cjk fonts-wqy-microhei nginx-light postgresql >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
      echo "正在安装 chromium、中文字体、nginx 与 PostgreSQL（Debian 软件包）…"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium fonts-noto-cjk fonts-wqy-microhei nginx-light postgresql >/dev/null
    else
      echo "浏览器、部署与 PostgreSQL 测试需要 chromium、中文字体、nginx 与 postgresql，请以 root 运行：" >&2
      echo "  apt-get install chromium fonts-noto-cjk fonts-wqy-microhei nginx-light postgresql" >&2
      exit 1
    fi
  fi
fi

if python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv >/dev/null 2>&1; then
  python3 -m uv sync --frozen --quiet
else
  # No uv available: plain venv + pip from the pinned requirements.
  [ -d .venv ] || python3 -m venv .venv
  .venv/bin/pip install --quiet -r requirements-dev.txt
fi

# worktrack's own modules compiled too, as Python would on first import where it may write bytecode
# (where PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile them again: ~0.3 s)
.venv/bin/python -m compileall -q -j 0 worktrack app_support.py dashboard.py pages benchmarks scripts >/dev/null
