"""Small statistics for the cold-start checks and the report's charts, in pure Python so the Lambda layer stays light.

Everything here is plain data in, plain data out, and uses the standard library only. The tests
(tests/unit/test_stats.py) prove each function against SciPy / NumPy, which are test dependencies only.

- ``percentile``: nearest-rank percentile, the definition CloudWatch uses; the package's only one, so
  a finding's evidence and the report's charts give the same figure for the same values.
- ``mann_whitney_u_greater``: one-sided Mann-Whitney U test, equal to
  ``scipy.stats.mannwhitneyu(current, baseline, alternative="greater")``.
- ``two_proportion_greater``: one-sided pooled two-proportion z-test (e.g. cold-start rate).
- ``BoundedSample``: a fixed-size, mergeable, JSON-serialisable uniform sample of a stream.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, NamedTuple, Sequence

MannWhitneyMethod = Literal["auto", "exact", "asymptotic"]

# SciPy's rule for method="auto" (scipy.stats._mannwhitneyu._mwu_choose_method, SciPy 1.17):
# the exact distribution when either sample has at most this many values and there are no ties.
EXACT_MAX_SMALLER_SAMPLE = 8


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of ``values`` by the nearest-rank method.

    Definition (nearest rank, as CloudWatch's percentile statistics, which the sandbox models on
    its own in ``healthaudit_sandbox.fidelity.cloudwatch``): sort the N values and take the one of rank
    ``max(1, ceil(p/100 * N))`` (1-based), so p0 is the minimum and p100 the maximum. It is always
    one of the values, never an interpolation; NumPy calls it ``method="inverted_cdf"``.

    ``p`` is read as the decimal it prints as (``99.9`` means exactly 999/10) and the rank is
    computed with fractions, so binary rounding never moves a value across a rank boundary
    (``0.07 * 100`` is 7.000000000000001 in floats, which would wrongly round up to rank 8).

    Raises ValueError on empty ``values`` or ``p`` outside [0, 100].
    """
    if not values:
        raise ValueError("percentile of no values")
    exact_p = Fraction(str(p)) if isinstance(p, float) else Fraction(p)
    if not 0 <= exact_p <= 100:
        raise ValueError(f"percentile p must be within [0, 100], got {p!r}")
    ordered = sorted(values)
    rank = max(1, math.ceil(exact_p * len(ordered) / 100))
    return ordered[rank - 1]


class MannWhitneyResult(NamedTuple):
    """``u`` is SciPy's U1, the statistic of the first (current) sample; ``method`` is "exact" or
    "asymptotic"."""

    u: float
    p_value: float
    method: str


def mann_whitney_u_greater(
    current: Sequence[float],
    baseline: Sequence[float],
    method: MannWhitneyMethod = "auto",
) -> MannWhitneyResult:
    """One-sided Mann-Whitney U test of H1 "``current`` tends to be larger than ``baseline``".

    Implements ``scipy.stats.mannwhitneyu(current, baseline, alternative="greater",
    use_continuity=True, method=method)`` (SciPy 1.17, "method 2" of
    https://en.wikipedia.org/wiki/Mann%E2%80%93Whitney_U_test#Calculations):

    - U1 = R1 - n1(n1+1)/2, with R1 the sum of the mid-ranks of ``current`` in the pooled sample.
    - p = P(U >= U1) under H0 (both samples from one continuous distribution).
    - method "auto" picks "exact" when min(n1, n2) <= 8 and no value is tied, else "asymptotic"
      (SciPy's documented rule: "exact when the size of one of the samples is less than or equal
      to 8 and there are no ties").
    - "exact": the null distribution of U, counted exactly (``_u_null_counts``); no tie correction,
      so it refuses tied data (SciPy would silently truncate a half-integer U).
    - "asymptotic": normal approximation with tie correction and continuity correction:
      z = (U1 - n1 n2/2 - 1/2) / sqrt(n1 n2/12 * ((n+1) - sum(t^3 - t)/(n(n-1)))), p = 1 - Phi(z).
      When every value is tied the variance is 0 and p is 1 (SciPy: z = -inf).

    Raises ValueError on an empty sample or a NaN, like SciPy.
    """
    n1, n2 = len(current), len(baseline)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney U needs at least one value in each sample")
    pooled = sorted([(float(v), True) for v in current] + [(float(v), False) for v in baseline])
    if any(math.isnan(v) for v, _ in pooled):
        raise ValueError("Mann-Whitney U is undefined for NaN values")

    # Mid-ranks: a run of equal values at 1-based positions i..j all get rank (i + j) / 2.
    # Sums are kept doubled, in integers, so U1 is exact.
    twice_r1 = 0
    tie_term = 0  # sum over runs of t^3 - t
    start = 0
    while start < len(pooled):
        end = start
        while end + 1 < len(pooled) and pooled[end + 1][0] == pooled[start][0]:
            end += 1
        run = end - start + 1
        twice_r1 += sum(is_current for _, is_current in pooled[start : end + 1]) * (start + 1 + end + 1)
        tie_term += run**3 - run
        start = end + 1
    twice_u1 = twice_r1 - n1 * (n1 + 1)
    u1 = twice_u1 / 2

    ties = tie_term > 0
    if method == "auto":
        method = "exact" if min(n1, n2) <= EXACT_MAX_SMALLER_SAMPLE and not ties else "asymptotic"
    if method == "exact":
        if ties:
            raise ValueError("the exact Mann-Whitney distribution assumes no ties; use 'asymptotic'")
        return MannWhitneyResult(u1, _exact_sf(twice_u1 // 2, n1, n2), "exact")
    if method != "asymptotic":
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic', got {method!r}")

    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:  # every value tied: U1 sits exactly on its mean, nothing to see
        return MannWhitneyResult(u1, 1.0, "asymptotic")
    z = (u1 - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return MannWhitneyResult(u1, min(1.0, _normal_sf(z)), "asymptotic")


def _u_null_counts(m: int, n: int, upto: int) -> list[int]:
    """Number of arrangements of m + n distinct values giving U = 0..upto (U of the m-sample).

    The counts are the coefficients of the Gaussian binomial coefficient
    [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i) (Mann & Whitney 1947; e.g.
    https://en.wikipedia.org/wiki/Gaussian_binomial_coefficient). Each factor is applied exactly:
    multiplying by (1 - q^k) subtracts a shifted copy, dividing by (1 - q^i) adds a running
    shifted sum; after factor i the polynomial is [n+i choose i]_q, so every division is exact.
    Only degrees 0..upto are kept (higher degrees never feed lower ones). Cost O(m * upto).
    """
    counts = [1] + [0] * upto
    for i in range(1, m + 1):
        shift = n + i
        for u in range(upto, shift - 1, -1):
            counts[u] -= counts[u - shift]
        for u in range(i, upto + 1):
            counts[u] += counts[u - i]
    return counts


def _exact_sf(u: int, n1: int, n2: int) -> float:
    """P(U >= u) under H0 for samples of n1 and n2 distinct values, exact then rounded once.

    The null distribution is symmetric about n1 n2 / 2, so P(U >= u) = P(U <= n1 n2 - u); the
    shorter of the two tails is summed.
    """
    m, n = min(n1, n2), max(n1, n2)
    total = math.comb(m + n, m)
    if 2 * u >= m * n:
        tail = sum(_u_null_counts(m, n, m * n - u))
    else:
        tail = total - sum(_u_null_counts(m, n, u - 1)) if u > 0 else total
    return tail / total  # int / int rounds correctly


def _normal_sf(z: float) -> float:
    """Standard normal survival function 1 - Phi(z) = erfc(z / sqrt 2) / 2, accurate in both tails."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


class ProportionTestResult(NamedTuple):
    z: float
    p_value: float


def two_proportion_greater(
    successes_current: int, n_current: int, successes_baseline: int, n_baseline: int
) -> ProportionTestResult:
    """One-sided pooled two-proportion z-test of H1 "the current proportion is larger".

    Definition (e.g. https://en.wikipedia.org/wiki/Two-proportion_Z-test; statsmodels'
    ``proportions_ztest(..., alternative="larger")`` with its default pooled variance):
    p1 = x1/n1, p2 = x2/n2, pooled p = (x1 + x2)/(n1 + n2),
    z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p-value = 1 - Phi(z).

    Degenerate inputs carry no evidence and return z = 0.0, p_value = 1.0: either window empty
    (n = 0), or the pooled proportion 0 or 1 (no successes, or nothing but successes, anywhere),
    where the standard error is 0. Equal proportions otherwise give z = 0 and p = 0.5.

    Raises ValueError when a count is negative or successes exceed their n.
    """
    for successes, n in ((successes_current, n_current), (successes_baseline, n_baseline)):
        if n < 0 or not 0 <= successes <= n:
            raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n_current == 0 or n_baseline == 0:
        return ProportionTestResult(0.0, 1.0)
    pooled = (successes_current + successes_baseline) / (n_current + n_baseline)
    if pooled in (0.0, 1.0):
        return ProportionTestResult(0.0, 1.0)
    std_error = math.sqrt(pooled * (1 - pooled) * (1 / n_current + 1 / n_baseline))
    z = (successes_current / n_current - successes_baseline / n_baseline) / std_error
    return ProportionTestResult(z, _normal_sf(z))


@dataclass
class BoundedSample:
    """A uniform random sample, of at most ``capacity`` values, of everything ever ``add``-ed.

    Why a sample is enough: the Mann-Whitney test asks whether two windows' init durations come
    from the same distribution. A uniform random sample of a window is itself a random sample of
    that window's distribution, so under H0 the pooled values of two such samples are still
    exchangeable and the test stays valid; it only has less power than on every value (n is
    capped at ``capacity``). A percentile (e.g. p95) computed on the sample is an *estimate* of the
    window's: with 500 values the sample p95 lies between the window's ~93rd and ~97th
    percentiles about 95 % of the time (binomial sd sqrt(0.95 * 0.05 / 500) ~ 1 point).

    How: reservoir sampling, Algorithm R (Vitter 1985, https://en.wikipedia.org/wiki/Reservoir_sampling):
    the k-th value (k > capacity) replaces a random slot with probability capacity / k. The
    invariant is ``len(values) == min(capacity, seen)`` and ``values`` a uniform subset of the
    ``seen`` values. ``merge`` keeps that invariant for the union of two streams (see there).

    Deterministic: every random draw comes from ``random.Random`` seeded with ``seed`` and the
    position in the stream (``seen``), so the same inputs always give the same sample, and a
    sample restored by ``from_dict`` continues exactly as the original would have. Give each
    stream its own seed (e.g. "function-name/2026-05-01") so two streams' draws are unrelated.
    """

    capacity: int = 500
    seed: int | str = 0
    seen: int = 0
    values: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {self.capacity}")
        if self.seen < 0 or len(self.values) != min(self.capacity, self.seen):
            raise ValueError(
                f"a sample of {self.seen} values with capacity {self.capacity} holds "
                f"{min(self.capacity, max(self.seen, 0))} values, not {len(self.values)}"
            )

    def add(self, value: float) -> None:
        """Offer one value to the sample (Algorithm R)."""
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"sample values must be finite, got {value!r}")
        self.seen += 1
        if len(self.values) < self.capacity:
            self.values.append(value)
            return
        slot = random.Random(f"{self.seed}/add/{self.seen}").randrange(self.seen)
        if slot < self.capacity:
            self.values[slot] = value

    def extend(self, values: Sequence[float]) -> None:
        """``add`` each of ``values`` in turn."""
        for value in values:
            self.add(value)

    def merge(self, other: BoundedSample) -> BoundedSample:
        """A uniform sample of the union of both streams, weighted by their true ``seen`` counts.

        The merged sample has k = min(capacity, self.seen + other.seen) values, capacity being the
        smaller of the two. How many of them come from ``self`` is drawn as a draw of k without
        replacement from self.seen "self" and other.seen "other" items (hypergeometric), then that
        many are taken uniformly from each side's sample. Each side's sample is a uniform subset of
        its stream, so a uniform subset of it is too, and the whole is a uniform k-subset of the
        union. Neither input is changed; the result keeps ``self.seed``.
        """
        capacity = min(self.capacity, other.capacity)
        rng = random.Random(f"{self.seed}/merge/{other.seed}/{self.seen}/{other.seen}")
        size = min(capacity, self.seen + other.seen)
        left_self, left_other, from_self = self.seen, other.seen, 0
        for _ in range(size):
            if rng.randrange(left_self + left_other) < left_self:
                from_self += 1
                left_self -= 1
            else:
                left_other -= 1
        values = rng.sample(self.values, from_self) + rng.sample(other.values, size - from_self)
        return BoundedSample(capacity, self.seed, self.seen + other.seen, values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: ``{"capacity", "seed", "seen", "values"}``."""
        return {"capacity": self.capacity, "seed": self.seed, "seen": self.seen, "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoundedSample:
        """The inverse of ``to_dict``; raises ValueError if the counts do not add up."""
        return cls(
            capacity=int(data["capacity"]),
            seed=data["seed"],
            seen=int(data["seen"]),
            values=[float(v) for v in data["values"]],
        )
