"""The hypervolume wrapper: Optuna's private code when usable, our WFG otherwise; both exact."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_lab.analysis import _hypervolume, hypervolume, suggest_reference_point
from hpo_lab.analysis._hypervolume import non_dominated, wfg


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_wfg_matches_optuna(m: int) -> None:
    from optuna._hypervolume import compute_hypervolume

    rng = np.random.default_rng(m)
    pts = rng.random((40, m))
    ref = np.full(m, 1.1)
    assert wfg(pts, ref) == pytest.approx(compute_hypervolume(pts, ref), rel=1e-12)


def test_falls_back_to_wfg_when_optuna_code_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    pts = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=float)
    ref = np.full(3, 2.0)

    def moved(*args, **kwargs):
        raise TypeError("compute_hypervolume() got an unexpected keyword argument")

    monkeypatch.setattr(_hypervolume, "_optuna_hv", moved)
    assert hypervolume(pts, ref) == pytest.approx(7.0)
    assert _hypervolume._optuna_hv is False  # remembered: no second try
    assert hypervolume(pts, ref) == pytest.approx(7.0)


def test_points_beyond_the_reference_and_duplicates_are_ignored() -> None:
    ref = np.array([2.0, 2.0])
    assert hypervolume(np.empty((0, 2)), ref) == 0.0
    assert hypervolume(np.array([[3.0, 0.0], [2.0, 1.0]]), ref) == 0.0
    assert hypervolume(np.array([[1.0, 1.0], [1.0, 1.0], [1.5, 1.5]]), ref) == 1.0


def test_non_dominated_keeps_each_point_once() -> None:
    pts = np.array([[1, 2], [1, 2], [2, 1], [2, 2], [0, 3]], dtype=float)
    assert non_dominated(pts).tolist() == [[0, 3], [1, 2], [2, 1]]


def test_suggest_reference_point() -> None:
    assert suggest_reference_point([[1, 5], [3, 5]], ["minimize", "maximize"]) == (3.2, 4.5)
    assert suggest_reference_point([[0.0, 0.0]], {"a": "minimize", "b": "minimize"}, 0.5) == (
        0.5,
        0.5,
    )
    with pytest.raises(ValueError, match="at least one point"):
        suggest_reference_point([], ["minimize"])
    with pytest.raises(ValueError, match="margin must be a number >= 0"):
        suggest_reference_point([[1.0]], ["minimize"], margin=-1)
