"""Conjugate priors and compound predictive log-probabilities."""
