from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from ..runtimes import deprecation_date
from .registry import CheckThresholds, Threshold, check
from .severity import SeverityRule


@check(
    id="runtime-deprecated",
    title="Runtime is deprecated or soon will be",
    # Deprecated runtimes get no security patches: MEDIUM once deprecated, LOW while it approaches.
    severity=SeverityRule.at_most("days_left", "days to deprecation", {Severity.MEDIUM: 0}, Severity.LOW, unit="days"),
    permissions=("lambda:ListFunctions",),
    remediation=(
        "Move the function to a supported runtime version (test it first: major versions are not backward"
        " compatible); deprecated runtimes get no security patches and later block updates."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
    thresholds={
        "runtime_deprecation_warning_days": Threshold(
            90, "days before the runtime's deprecation date", "days", minimum=0
        )
    },
    needs=(DataSource.INVENTORY,),
)
def runtime_deprecated(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    if not fn.runtime:
        return  # container images bring their own runtime
    deprecated_on = deprecation_date(fn.runtime)
    if deprecated_on is None:
        return
    days_left = (deprecated_on - fn.as_of).days
    if days_left <= thresholds.runtime_deprecation_warning_days:
        if days_left < 0:
            when = f"was deprecated on {deprecated_on} ({_days(-days_left)} ago)"
        elif days_left == 0:
            when = f"is deprecated today ({deprecated_on})"
        else:
            when = f"is deprecated on {deprecated_on} (in {_days(days_left)})"
        yield fn.finding(
            f"runtime {fn.runtime} {when}",
            evidence={"runtime": fn.runtime, "deprecation_date": deprecated_on.isoformat(), "days_left": days_left},
        )


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"
