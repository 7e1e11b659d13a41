"""The application layer: the use cases the command line calls, and the composition root."""
