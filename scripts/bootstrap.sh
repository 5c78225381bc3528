#!/usr/bin/env bash
# Create .venv and install kpibot with its dev tools; re-run only when pyproject.toml changes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
venv="$root/.venv"
stamp="$venv/.kpibot-installed"

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "kpibot 需要 Python 3.11 或更新版本（可设置 PYTHON=/path/to/python3.11）。" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "首次运行：正在创建虚拟环境 .venv……" >&2
    "$python" -m venv "$venv"
fi
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "正在安装 kpibot 及其依赖（首次约需 1–2 分钟，之后不再重复）……" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[dev]"
    echo "$want" > "$stamp"
    echo "安装完成。" >&2
fi
