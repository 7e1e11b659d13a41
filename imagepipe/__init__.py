"""imagepipe: YAML specs in git become Azure VM images and fleets."""

__version__ = "0.1.0"
