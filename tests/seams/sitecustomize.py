"""Loaded by every process of a pipeline that tests/test_promises.py starts with this folder on
PYTHONPATH. It changes nothing unless asked, through the environment:

* ``POSEPIPE_TEST_COMPILES=FILE``: every ``openvino.Core.compile_model`` call appends one line
  to FILE (the product's own compile, counted, not replaced);
* ``POSEPIPE_TEST_DRAIN_S=S``: the controller's drain lasts up to S seconds instead of 1.5, so
  that a test can tell a second Ctrl-C (at once) from the drain's own end.
"""

from __future__ import annotations

import os

if os.environ.get("POSEPIPE_TEST_COMPILES"):
    import openvino as _ov

    _compile = _ov.Core.compile_model

    def _counted(self, *args, **kwargs):
        with open(os.environ["POSEPIPE_TEST_COMPILES"], "a") as f:
            f.write(f"{os.getpid()}\n")
        return _compile(self, *args, **kwargs)

    _ov.Core.compile_model = _counted

if os.environ.get("POSEPIPE_TEST_DRAIN_S"):
    import pipeline.controller as _controller

    _controller.DRAIN_TIMEOUT_S = float(os.environ["POSEPIPE_TEST_DRAIN_S"])
