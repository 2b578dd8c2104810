"""hpo_lab: interactive, visual hyperparameter optimization in JupyterLab."""

__version__ = "0.1.0"
