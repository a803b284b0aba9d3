"""Metrics, baselines and evaluation of finished runs."""
