"""Shared fixtures and Hypothesis profiles for the memstore test-suite.

Hypothesis profiles:

* ``default`` (used unless told otherwise): quick enough for every run.
* ``ci``: the longer run CI makes of the state machine, bounded to a few
  minutes (each example must finish within a deadline)::

      HYPOTHESIS_PROFILE=ci python -m pytest tests/test_stateful.py

* ``long``: many more examples and longer stateful runs, for soak testing::

      HYPOTHESIS_PROFILE=long python -m pytest tests
"""

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=600,
    stateful_step_count=100,
    deadline=5000,  # ms per example: a hang or a pathological slowdown fails
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=5000,
    stateful_step_count=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def unraisables():
    """Collects exceptions raised where Python cannot propagate them
    (``__del__``, weakref callbacks).  The test checks the list itself."""
    caught = []
    old = sys.unraisablehook

    def hook(u):
        caught.append((u.exc_type, u.exc_value, u.object))

    sys.unraisablehook = hook
    try:
        yield caught
    finally:
        sys.unraisablehook = old
