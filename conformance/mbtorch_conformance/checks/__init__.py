"""The checks, one module per kind: forward values, semantics (views, in-place, errors),
gradients, and whole-backend checks (host round trips, declared dtypes, random streams)."""

__all__ = []
