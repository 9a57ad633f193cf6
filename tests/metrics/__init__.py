"""Tests of the windowed metrics."""
