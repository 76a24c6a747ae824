"""The access-log writers moved to the one access layer, `healthcenter.access` (issue 10). These
names stay for code written against them before; new code calls `access.record` and
`access.record_many`."""

from .access import record as access_record
from .access import record_many as access_record_many

__all__ = ["access_record", "access_record_many"]
