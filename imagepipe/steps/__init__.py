"""The steps: what each kind of step wants, observes and does (below plan/ and apply/).

Layers inside, each importing only the ones above it in this list:
``change``/``port``/``context`` (the Change, the Provider and Observer protocols, the run's
context), ``evaluation`` (compare), ``waits`` (act-time waits), ``desired/`` (desired
records), ``facts`` (observed facts), ``base`` (the Handler contract), ``handlers/``
(one module per workflow; no handler imports another) and ``registry`` (kind -> handler).
"""
