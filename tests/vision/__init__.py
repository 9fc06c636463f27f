"""Tests of mbtorch.vision."""
