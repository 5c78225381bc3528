"""The rectification-notice lifecycle (整改通报): run a month, follow up, answer, digest.

Scoring owns it; the doors call it. Sending is :mod:`scoring.outbox`'s job.
"""

from scoring.rectification.lifecycle import MAX_MEASURES, Rectification
from scoring.rectification.reports import (
    Digest,
    DigestLine,
    FollowUpReport,
    NoticeError,
    NoticePolicy,
    NoticeRenderer,
    PlannedNotice,
    PreviousLine,
    Recipient,
    RunReport,
    notice_label,
)

__all__ = [
    "MAX_MEASURES",
    "Digest",
    "DigestLine",
    "FollowUpReport",
    "NoticeError",
    "NoticePolicy",
    "NoticeRenderer",
    "PlannedNotice",
    "PreviousLine",
    "Recipient",
    "Rectification",
    "RunReport",
    "notice_label",
]
