"""``python -m pipeline.ctlkeys``: create the CurveZMQ keys that a ``--control tcp://…`` run and
its ``ctl`` clients use (:mod:`pipeline.ctl.keys`)."""

import sys

from .ctl.keys import main

if __name__ == "__main__":
    sys.exit(main())
