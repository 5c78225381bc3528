"""Faults of the machine (database, disk), each told as one Chinese sentence.

Whatever the door, a database that cannot be reached or written, or a full disk, is told to
the user as what is wrong and what to do; the exception, with its SQL and parameters, goes
only to the log.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

READ_ONLY = "数据库为只读，无法写入：请检查数据库文件及其目录的写权限或磁盘的挂载方式，然后重试。"
DISK_FULL = "磁盘空间已满，无法写入：请清理数据库所在磁盘的空间，然后重试。"
UNREACHABLE = (
    "无法连接数据库：请确认 PostgreSQL 正在运行、网络畅通且 KPIBOT_DATABASE_URL 正确，然后重试。"
)
TELEGRAM_UNREACHABLE = (
    "无法连接 Telegram 服务器：请检查本机网络、代理和 KPIBOT_TELEGRAM_BASE_URL，然后重试。"
)
CANNOT_OPEN = "无法打开数据库文件：请检查 KPIBOT_DATABASE_URL 中的路径是否存在、是否有读写权限。"

# Words of the drivers' messages (sqlite3, psycopg) and of the operating system.
_SIGNS = (
    (READ_ONLY, ("readonly database", "read-only", "read only")),
    (DISK_FULL, ("disk is full", "no space left", "disk full", "could not extend file")),
    (CANNOT_OPEN, ("unable to open database file",)),
    (
        UNREACHABLE,
        (
            "connection refused",
            "connection failed",
            "could not connect",
            "server closed the connection",
            "terminating connection",
            "connection is closed",
            "connection already closed",
            "connection timeout",
            "the database system is shutting down",
            "the database system is starting up",
            "name or service not known",
            "no route to host",
        ),
    ),
)
_ERRNOS = {errno.EROFS: READ_ONLY, errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL}
# Exceptions whose message speaks of the database: SQLAlchemy's and the drivers'.
_DATABASE_MODULES = ("sqlalchemy", "sqlite3", "psycopg")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        original = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        if isinstance(original, BaseException) and id(original) not in seen:
            yield original
            seen.add(id(original))
        current = current.__cause__ or current.__context__


def fault_sentence(exc: BaseException) -> str | None:
    """The sentence for a fault of the database or the disk behind ``exc``, or None."""
    from db.schema import SchemaError  # only when something failed: alembic is slow to import

    for error in _chain(exc):
        if isinstance(error, SchemaError):
            return str(error)
        if isinstance(error, OSError) and error.errno in _ERRNOS:
            return _ERRNOS[error.errno]
        module = type(error).__module__
        if module.startswith("telegram") and type(error).__name__ in ("NetworkError", "TimedOut"):
            return TELEGRAM_UNREACHABLE
        if not module.startswith(_DATABASE_MODULES):
            continue
        # Only the first line: a driver's message may go on with the SQL and its parameters.
        first_line = str(error).split("\n", 1)[0].lower()
        for sentence, signs in _SIGNS:
            if any(sign in first_line for sign in signs):
                return sentence
    return None
