"""Differential fuzz tests against PyTorch (hypothesis; issue 18)."""
