"""The spec language: load YAML with positions, validate, build the typed model."""

from imagepipe.spec.loader import LoadResult, load_one, load_spec_sets

__all__ = ["LoadResult", "load_one", "load_spec_sets"]
