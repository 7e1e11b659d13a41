"""Shared parts of the benchmarks in bench/: the emulator subprocess, spec generation, figures."""
