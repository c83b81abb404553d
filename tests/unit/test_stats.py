"""healthaudit.stats is pure Python; here it is proven against SciPy and NumPy (test dependencies only)."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats

from healthaudit.stats import (
    BoundedSample,
    mann_whitney_u_greater,
    percentile,
    two_proportion_greater,
)


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, float(theirs), rel_tol=1e-9, abs_tol=1e-12)


def scipy_greater(current, baseline, method="auto"):
    return scipy_stats.mannwhitneyu(current, baseline, alternative="greater", method=method)


# --- percentile -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, p, expected",
    [
        ([7.0], 0, 7.0),  # a single value is every percentile
        ([7.0], 99.9, 7.0),
        ([3.0, 1.0, 2.0], 0, 1.0),  # p0: rank max(1, 0) = 1, the minimum
        ([3.0, 1.0, 2.0], 100, 3.0),  # p100: the maximum
        ([3.0, 1.0, 2.0], 50, 2.0),  # rank ceil(1.5) = 2
        ([1.0, 2.0], 50, 1.0),  # rank ceil(1.0) = 1: nearest rank never interpolates
        ([1.0, 2.0], 50.01, 2.0),  # rank ceil(1.0002) = 2
        ([5.0, 5.0, 5.0, 9.0], 75, 5.0),  # ties: rank 3 is still a 5
        ([5.0, 5.0, 5.0, 9.0], 75.5, 9.0),
        ([float(v) for v in range(1, 101)], 95, 95.0),  # rank 95 exactly
        ([float(v) for v in range(1, 101)], 7, 7.0),  # 0.07 * 100 is 7.000000000000001 in floats
        ([float(v) for v in range(1, 101)], 95.01, 96.0),
        ([float(v) for v in range(1, 101)], 99.9, 100.0),  # rank ceil(99.9) = 100
        ([float(v) for v in range(1, 101)], 1, 1.0),
        ([float(v) for v in range(1, 101)], 0.5, 1.0),
        ([float(v) for v in range(1, 102)], 99, 100.0),  # 101 values: rank ceil(99.99) = 100
        ([float(v) for v in range(1, 101)], np.float64(99.9), 100.0),  # NumPy floats read the same
    ],
)
def test_percentile_is_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


@pytest.mark.parametrize("values, p", [([], 50), ([1.0], -0.1), ([1.0], 100.5)])
def test_percentile_rejects_empty_input_and_p_out_of_range(values, p):
    with pytest.raises(ValueError):
        percentile(values, p)


def test_percentile_agrees_with_numpy_inverted_cdf():
    rng = random.Random(20240501)
    for _ in range(300):
        values = [round(rng.lognormvariate(5, 1), rng.choice([0, 3])) for _ in range(rng.randint(1, 400))]
        p = rng.choice([0.0, 100.0, rng.uniform(0, 100)])
        assert percentile(values, p) == np.percentile(values, p, method="inverted_cdf")


# --- Mann-Whitney U ---------------------------------------------------------------------------


def _random_pair(rng: random.Random) -> tuple[list[float], list[float]]:
    """Varied sizes (2..60), continuous or rounded (ties), same or shifted distributions."""
    n_current, n_baseline = rng.randint(2, 60), rng.randint(2, 60)
    shift = rng.choice([0.0, 0.0, 0.3, 1.0, -0.5])
    decimals = rng.choice([None, None, 1, 0])  # rounding to 0-1 decimals makes ties

    def draw(n: int, offset: float) -> list[float]:
        values = [rng.gauss(offset, 1.0) for _ in range(n)]
        return values if decimals is None else [round(v, decimals) for v in values]

    return draw(n_current, shift), draw(n_baseline, 0.0)


def test_mann_whitney_matches_scipy_on_200_random_pairs():
    rng = random.Random(7)
    methods = set()
    for _ in range(200):
        current, baseline = _random_pair(rng)
        ours = mann_whitney_u_greater(current, baseline)
        theirs = scipy_greater(current, baseline)  # SciPy's own method="auto"
        assert ours.u == theirs.statistic
        assert close(ours.p_value, theirs.pvalue), (current, baseline, ours, theirs)
        # The method we report is the one SciPy's auto took: forcing it in SciPy gives the same p.
        assert close(ours.p_value, scipy_greater(current, baseline, ours.method).pvalue)
        methods.add(ours.method)
    assert methods == {"exact", "asymptotic"}  # both paths were exercised


@pytest.mark.parametrize(
    "n_current, n_baseline, ties, method",
    [
        (8, 8, False, "exact"),
        (2, 60, False, "exact"),
        (60, 8, False, "exact"),  # one sample <= 8 is enough
        (9, 9, False, "asymptotic"),
        (9, 60, False, "asymptotic"),
        (3, 3, True, "asymptotic"),  # any tie: normal approximation with tie correction
        (8, 200, True, "asymptotic"),
    ],
)
def test_mann_whitney_auto_picks_scipys_method(n_current, n_baseline, ties, method):
    values = [float(v) for v in range(n_current + n_baseline)]
    random.Random(n_current * 1000 + n_baseline).shuffle(values)
    if ties:
        values[1] = values[0]
    current, baseline = values[:n_current], values[n_current:]
    ours = mann_whitney_u_greater(current, baseline)
    assert ours.method == method
    assert close(ours.p_value, scipy_greater(current, baseline).pvalue)
    assert close(ours.p_value, scipy_greater(current, baseline, method).pvalue)


@pytest.mark.parametrize(
    "current, baseline",
    [
        ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]),  # U = 0: p = 1
        ([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]),  # U = 9: p = 1/20
        ([10.0], [1.0]),  # the smallest test: p = 1/2
        ([2.0, 4.0, 6.0, 8.0], [1.0, 3.0, 5.0, 7.0]),  # interleaved, U just above the middle
        ([100.0, 120.0, 130.0, 90.0, 150.0], [80.0, 85.0, 95.0, 70.0, 99.0, 60.0, 88.0]),
    ],
)
def test_mann_whitney_exact_small_samples_without_ties(current, baseline):
    ours = mann_whitney_u_greater(current, baseline)
    theirs = scipy_greater(current, baseline, "exact")
    assert ours.method == "exact"
    assert ours.u == theirs.statistic
    assert close(ours.p_value, theirs.pvalue)


def test_mann_whitney_exact_null_distribution_sums_to_one_and_matches_scipy_everywhere():
    # Every possible U for 5 vs 7 values: the p-values are SciPy's, and P(U >= 0) = 1.
    for current_ranks in [(1, 2, 3, 4, 5), (1, 3, 5, 7, 9), (8, 9, 10, 11, 12), (2, 4, 6, 10, 12)]:
        current = [float(r) for r in current_ranks]
        baseline = [float(r) for r in range(1, 13) if r not in current_ranks]
        ours = mann_whitney_u_greater(current, baseline, "exact")
        assert close(ours.p_value, scipy_greater(current, baseline, "exact").pvalue)
    assert mann_whitney_u_greater([1.0, 2.0], [3.0, 4.0, 5.0], "exact").p_value == 1.0


def test_mann_whitney_exact_with_one_small_and_one_large_sample():
    # SciPy's auto takes the exact path whenever one side has <= 8 values, however big the other.
    rng = random.Random(3)
    small = [rng.uniform(0, 1) for _ in range(8)]
    large = [rng.uniform(0.1, 1.1) for _ in range(400)]
    for current, baseline in ((large, small), (small, large)):
        ours = mann_whitney_u_greater(current, baseline)
        assert ours.method == "exact"
        assert close(ours.p_value, scipy_greater(current, baseline).pvalue)


@pytest.mark.parametrize(
    "current, baseline",
    [
        ([1.0, 1.0, 2.0, 2.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0]),
        ([5.0] * 10 + [6.0] * 10, [5.0] * 15 + [6.0] * 3),  # two values only
        ([100.0] * 30 + [250.0], [100.0] * 40),  # one outlier in a sea of ties
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),  # identical samples
        ([7.0], [7.0, 7.0]),
    ],
)
def test_mann_whitney_tie_heavy_samples(current, baseline):
    ours = mann_whitney_u_greater(current, baseline)
    theirs = scipy_greater(current, baseline)
    assert ours.method == "asymptotic"
    assert ours.u == theirs.statistic
    assert close(ours.p_value, theirs.pvalue)


@pytest.mark.parametrize("n_current, n_baseline", [(1, 1), (3, 5), (20, 40), (200, 150)])
def test_mann_whitney_all_equal_values(n_current, n_baseline):
    current, baseline = [250.0] * n_current, [250.0] * n_baseline
    ours = mann_whitney_u_greater(current, baseline)
    theirs = scipy_greater(current, baseline)
    assert ours.u == theirs.statistic == n_current * n_baseline / 2
    assert ours.p_value == theirs.pvalue == 1.0


def test_mann_whitney_forced_methods_match_scipy():
    rng = random.Random(11)
    current = [rng.gauss(0.4, 1) for _ in range(30)]
    baseline = [rng.gauss(0, 1) for _ in range(25)]
    for method in ("exact", "asymptotic"):
        ours = mann_whitney_u_greater(current, baseline, method)
        assert ours.method == method
        assert close(ours.p_value, scipy_greater(current, baseline, method).pvalue)


@pytest.mark.parametrize(
    "current, baseline, method",
    [
        ([], [1.0], "auto"),
        ([1.0], [], "auto"),
        ([1.0, math.nan], [2.0], "auto"),
        ([1.0, 2.0], [2.0, 3.0], "exact"),  # ties: the exact distribution does not apply
        ([1.0], [2.0], "permutation"),
    ],
)
def test_mann_whitney_rejects(current, baseline, method):
    with pytest.raises(ValueError):
        mann_whitney_u_greater(current, baseline, method)


# --- two proportions --------------------------------------------------------------------------


def reference_two_proportion(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """The textbook pooled z-test written with NumPy and scipy.stats.norm."""
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(z), float(scipy_stats.norm.sf(z))


@pytest.mark.parametrize(
    "x1, n1, x2, n2, z, p",
    [
        (50, 1000, 50, 1000, 0.0, 0.5),  # equal proportions: the boundary, p = 1/2
        (5, 100, 50, 1000, 0.0, 0.5),  # equal proportions, unequal n
        (0, 0, 10, 100, 0.0, 1.0),  # degenerate: no current invocations
        (10, 100, 0, 0, 0.0, 1.0),  # degenerate: no baseline
        (0, 0, 0, 0, 0.0, 1.0),
        (0, 500, 0, 800, 0.0, 1.0),  # degenerate: pooled proportion 0 (no cold starts at all)
        (500, 500, 800, 800, 0.0, 1.0),  # degenerate: pooled proportion 1
    ],
)
def test_two_proportion_boundaries(x1, n1, x2, n2, z, p):
    assert two_proportion_greater(x1, n1, x2, n2) == (z, p)


@pytest.mark.parametrize(
    "x1, n1, x2, n2, expect",
    [
        (300, 1000, 100, 1000, "tiny"),  # strong increase
        (60, 1000, 50, 1000, "middle"),  # small increase, not significant
        (100, 1000, 300, 1000, "near one"),  # a decrease is no evidence of an increase
        (1, 1, 0, 1, "middle"),  # smallest non-degenerate case
        (7, 20, 1, 2000, "tiny"),
    ],
)
def test_two_proportion_against_norm_sf(x1, n1, x2, n2, expect):
    ours = two_proportion_greater(x1, n1, x2, n2)
    z, p = reference_two_proportion(x1, n1, x2, n2)
    assert close(ours.z, z) and close(ours.p_value, p)
    assert {"tiny": p < 1e-6, "middle": 0.01 < p < 0.99, "near one": p > 1 - 1e-6}[expect]


def test_two_proportion_is_the_square_root_of_pearsons_chi_square():
    # Independent proof: the pooled z-test squared is Pearson's chi-square on the 2x2 table, and
    # its one-sided p is half the chi-square p on the side of the sign of z.
    rng = random.Random(5)
    for _ in range(100):
        n1, n2 = rng.randint(1, 5000), rng.randint(1, 5000)
        x1, x2 = rng.randint(0, n1), rng.randint(0, n2)
        ours = two_proportion_greater(x1, n1, x2, n2)
        if x1 + x2 in (0, n1 + n2):
            assert ours == (0.0, 1.0)
            continue
        chi2 = scipy_stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
        assert math.isclose(ours.z**2, chi2.statistic, rel_tol=1e-9, abs_tol=1e-12)
        one_sided = chi2.pvalue / 2 if ours.z > 0 else 1 - chi2.pvalue / 2
        assert math.isclose(ours.p_value, one_sided, rel_tol=1e-7, abs_tol=1e-12)
        z, p = reference_two_proportion(x1, n1, x2, n2)
        assert close(ours.z, z) and close(ours.p_value, p)


@pytest.mark.parametrize("x1, n1, x2, n2", [(-1, 10, 0, 10), (11, 10, 0, 10), (0, 10, 3, 2), (0, -1, 0, 10)])
def test_two_proportion_rejects_impossible_counts(x1, n1, x2, n2):
    with pytest.raises(ValueError):
        two_proportion_greater(x1, n1, x2, n2)


# --- BoundedSample ----------------------------------------------------------------------------


def sample_of(values, capacity=500, seed=0) -> BoundedSample:
    sample = BoundedSample(capacity=capacity, seed=seed)
    sample.extend(values)
    return sample


def test_bounded_sample_under_capacity_keeps_everything():
    sample = sample_of([3.0, 1.0, 2.0], capacity=5)
    assert sample.values == [3.0, 1.0, 2.0]
    assert sample.seen == 3


def test_bounded_sample_over_capacity_keeps_exactly_capacity():
    values = [float(v) for v in range(10_000)]
    sample = sample_of(values, capacity=500)
    assert len(sample.values) == 500
    assert sample.seen == 10_000
    assert len(set(sample.values)) == 500 and set(sample.values) <= set(values)  # without replacement


def test_bounded_sample_is_uniform_over_the_stream():
    # Early and late values are equally likely to stay: a quarter of the stream, a quarter of the sample.
    sample = sample_of([float(v) for v in range(40_000)], capacity=1000, seed="uniform")
    for quarter in range(4):
        share = sum(quarter * 10_000 <= v < (quarter + 1) * 10_000 for v in sample.values) / 1000
        assert abs(share - 0.25) < 0.05


def test_bounded_sample_merge_weights_each_side_by_its_true_count():
    rng = random.Random(1)
    a = sample_of([rng.uniform(0, 1) for _ in range(10_000)], seed="a")
    b = sample_of([rng.uniform(10, 11) for _ in range(30_000)], seed="b")
    merged = a.merge(b)
    assert merged.seen == 40_000 and len(merged.values) == merged.capacity == 500
    from_a = sum(v < 1 for v in merged.values) / len(merged.values)
    assert abs(from_a - 0.25) < 0.05
    assert (a.seen, b.seen, len(a.values), len(b.values)) == (10_000, 30_000, 500, 500)  # inputs untouched


@pytest.mark.parametrize(
    "a_values, b_values, capacity, size",
    [
        ([1.0, 2.0], [3.0], 5, 3),  # everything fits: everything kept
        ([], [3.0, 4.0], 5, 2),  # merging an empty sample
        ([], [], 5, 0),
        ([float(v) for v in range(4)], [float(v) for v in range(10, 14)], 5, 5),  # union just over capacity
    ],
)
def test_bounded_sample_merge_small(a_values, b_values, capacity, size):
    merged = sample_of(a_values, capacity).merge(sample_of(b_values, capacity, seed=1))
    assert merged.seen == len(a_values) + len(b_values)
    assert len(merged.values) == size
    if size == len(a_values) + len(b_values):
        assert sorted(merged.values) == sorted(a_values + b_values)
    assert set(merged.values) <= set(a_values + b_values)


def test_bounded_sample_merge_takes_the_smaller_capacity():
    merged = sample_of(range(100), capacity=50).merge(sample_of(range(100), capacity=20, seed=1))
    assert merged.capacity == 20 and len(merged.values) == 20 and merged.seen == 200


def test_bounded_sample_round_trips_through_json_and_continues_identically():
    original = sample_of([float(v) for v in range(2_000)], capacity=100, seed="fn/2026-05-01")
    restored = BoundedSample.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored == original
    original.extend([float(v) for v in range(2_000, 3_000)])
    restored.extend([float(v) for v in range(2_000, 3_000)])
    assert restored == original


def test_bounded_sample_is_deterministic_given_its_seed():
    values = [float(v) for v in range(5_000)]
    assert sample_of(values, 100, seed=42) == sample_of(values, 100, seed=42)
    assert sample_of(values, 100, seed=42).values != sample_of(values, 100, seed=43).values
    a, b = sample_of(values, 100, seed="a"), sample_of(values, 100, seed="b")
    assert a.merge(b) == a.merge(b)


@pytest.mark.parametrize(
    "data",
    [
        {"capacity": 3, "seed": 0, "seen": 5, "values": [1.0, 2.0]},  # too few for seen
        {"capacity": 3, "seed": 0, "seen": 1, "values": [1.0, 2.0]},  # more than seen
        {"capacity": 0, "seed": 0, "seen": 0, "values": []},
        {"capacity": 3, "seed": 0, "seen": -1, "values": []},
    ],
)
def test_bounded_sample_from_dict_rejects_inconsistent_data(data):
    with pytest.raises(ValueError):
        BoundedSample.from_dict(data)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_bounded_sample_rejects_non_finite_values(value):
    with pytest.raises(ValueError):
        BoundedSample().add(value)


def test_mann_whitney_on_bounded_samples_still_detects_a_regression():
    # The use the sample is for: two windows of init durations, each kept as a 500-value sample.
    rng = random.Random(9)
    baseline = sample_of([rng.lognormvariate(math.log(400), 0.2) for _ in range(20_000)], seed="base")
    same = sample_of([rng.lognormvariate(math.log(400), 0.2) for _ in range(5_000)], seed="same")
    slower = sample_of([rng.lognormvariate(math.log(600), 0.2) for _ in range(5_000)], seed="slow")
    assert mann_whitney_u_greater(slower.values, baseline.values).p_value < 1e-10
    assert mann_whitney_u_greater(same.values, baseline.values).p_value > 0.01
