"""Result files and the typed record they hold (see :mod:`radiobench.results.record`)."""

from radiobench.results.files import iter_results, read_result, result_path, write_result
from radiobench.results.record import SCHEMA_VERSION, Request, ResultRecord, Summary, migrate

__all__ = ["SCHEMA_VERSION", "Request", "ResultRecord", "Summary", "iter_results", "migrate", "read_result",
           "result_path", "write_result"]
