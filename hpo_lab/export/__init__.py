"""Exporting a trial: a runnable script, a notebook, JSON or YAML."""

from hpo_lab.export._fixed import FixedTrial

__all__ = ["FixedTrial"]
