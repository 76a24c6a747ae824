"""Checks the stored figures of the database in use against an independent recomputation.

    make verify-figures       # the demo database (embedded servers unless DATABASE_URL is set)

1. Every stored indicator cell (reporting.IndicatorValue) is recomputed from the raw tables by
   tests/reference_indicators.py, plain Python written from DESIGN.md without the rollup's SQL,
   and the two are compared: the clinical shares, the operational figures and the calendar's
   OPS-NO-SHOW and OPS-COURSE-COMPLETION (appointments, courses, sessions and participants).
2. This month's care gaps (the worklist's reasons) are compared with this month's indicators: for
   each rule that mirrors an indicator, the citizens the rule finds missing on the month's last
   day (today, if the month ends today; otherwise as of that day) must be the indicator's
   denominator minus its numerator.
Prints what it found and exits non-zero on any difference."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcenter.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from django.utils import timezone  # noqa: E402

from coordination.caregaps import find_gaps  # noqa: E402
from reporting.models import IndicatorValue  # noqa: E402
from reporting.rollups import RULES_MIRRORING_INDICATORS, month_end  # noqa: E402
from tests.reference_indicators import differences, reference_rows, stored_rows  # noqa: E402


def main() -> int:
    stored = stored_rows()
    if not stored:
        print("No stored figures: run `manage.py compute_rollups` first.")
        return 1
    months = sorted({key[1] for key in stored})
    started = time.perf_counter()
    expected = reference_rows(first_month=months[0], last_month=months[-1])
    elapsed = time.perf_counter() - started
    found = differences(expected, stored)
    print(
        f"Indicator cells: {len(stored)} stored, {len(expected)} recomputed independently for "
        f"{months[0]:%Y-%m}..{months[-1]:%Y-%m} in {elapsed:.1f} s"
    )
    print(found or "All stored cells agree with the independent recomputation.")

    this_month = timezone.localdate().replace(day=1)
    last_day = month_end(this_month)
    gaps = find_gaps(as_of=last_day)
    print(f"\nCare gaps on {last_day:%d.%m.%Y} against the indicators of {this_month:%m.%Y} (centre):")
    disagreements = 0
    for rule, code in RULES_MIRRORING_INDICATORS.items():
        row = IndicatorValue.objects.filter(
            indicator__code=code, month=this_month, unit_kind="centre", unit_id=0
        ).first()
        not_met = row.denominator - row.numerator if row else 0
        open_gaps = sum(g.rule.code == rule for g in gaps)
        disagreements += open_gaps != not_met
        verdict = "ok" if open_gaps == not_met else "DIFFERENT"
        print(f"  {rule:14} {open_gaps:5} gaps   {code:24} {not_met:5} not met   {verdict}")
    return 1 if found or disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
