"""Data behind the views: pure, incremental computations on trials (no drawing).

The Pareto front of several objectives, its hypervolume and its history are computed into
small NamedTuples (:class:`ParetoFrontData`, :class:`FrontUpdate`, :class:`StepLine`,
:class:`ParetoProjection`, :class:`HypervolumeHistory`); views only draw them.
"""

from hpo_lab.analysis._compute import pareto_front_data, suggest_reference_point
from hpo_lab.analysis._data import (
    FrontUpdate,
    HypervolumeHistory,
    ParetoFrontData,
    ParetoPoint,
    ParetoProjection,
    StepLine,
)
from hpo_lab.analysis._front import IncrementalFront
from hpo_lab.analysis._hypervolume import hypervolume
from hpo_lab.analysis._trials import is_feasible

__all__ = [
    "FrontUpdate",
    "HypervolumeHistory",
    "IncrementalFront",
    "ParetoFrontData",
    "ParetoPoint",
    "ParetoProjection",
    "StepLine",
    "hypervolume",
    "is_feasible",
    "pareto_front_data",
    "suggest_reference_point",
]
