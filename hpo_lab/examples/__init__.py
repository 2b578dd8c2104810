"""Small, complete examples on data that ships with scikit-learn (no downloads)."""
