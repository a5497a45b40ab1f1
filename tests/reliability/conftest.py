"""Reliability suite: fuzzing and property tests; prints what was generated and what broke at the end."""

from __future__ import annotations

import json
import os

from api_contract import STATS


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not STATS:
        return
    terminalreporter.section("reliability: requests generated")
    total = {"requests": 0, "server_errors": 0, "handler_exceptions": 0, "shape_problems": 0}
    for name in sorted(STATS):
        s = STATS[name]
        terminalreporter.write_line(s.line())
        for key, value in s.as_dict().items():
            if key in total:
                total[key] += value
        for problem in (s.exceptions + s.shape_problems)[:5]:
            terminalreporter.write_line(f"    {problem}")
    terminalreporter.write_line(
        f"TOTAL: {total['requests']} requests, 5xx {total['server_errors']}, "
        f"handler exceptions {total['handler_exceptions']}, error-shape problems {total['shape_problems']}"
    )
    out = os.environ.get("NLP_FUZZ_REPORT")
    if out:
        with open(out, "w", encoding="utf-8") as fp:
            json.dump({"total": total, **{k: v.as_dict() for k, v in STATS.items()}}, fp, indent=2)
