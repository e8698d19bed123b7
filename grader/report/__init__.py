"""Reports rendered from result.json: the student's HTML page, the class summary, the gradebook."""

from .html import write_submission_report
from .summary import write_batch_reports

__all__ = ["write_batch_reports", "write_submission_report"]
