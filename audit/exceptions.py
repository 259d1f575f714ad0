"""Errors raised by socialaudit.

Every error a user can cause by what they pass in (a file, a column, a flag, a policy) is an
:class:`AuditError`. The CLI and the API map it to exit code 2 / HTTP 422 with its message and
never show a traceback. Messages name the file, the column or field and the first bad row, and
say what to do.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "ConfigError",
    "DataError",
    "ModelError",
]


class AuditError(Exception):
    """Base class of every error caused by the user's input."""


class DataError(AuditError):
    """A labelled test set (or another input file) cannot be used as given.

    Parameters
    ----------
    message
        What is wrong and what to do about it.
    file
        The file concerned, as the user named it.
    column
        The column concerned, if any.
    row
        1-based data row (the header is not counted) of the first bad value, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.file = file
        self.column = column
        self.row = row
        where = []
        if file is not None:
            where.append(str(file))
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModelError(AuditError):
    """The platform's model cannot be loaded or called, or returned unusable scores."""


class ConfigError(AuditError):
    """A command-line option, policy or configuration value is invalid."""
