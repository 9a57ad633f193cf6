"""Windowed operational and quality metrics."""
