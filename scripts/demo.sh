#!/usr/bin/env bash
# The main job on the embedded default: SQLite kpibot.db here, the shipped sample data.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
echo "正在打开绩效考评助手示例（数据库：./kpibot.db）……" >&2
exec "$root/.venv/bin/kpibot" demo "$@"
