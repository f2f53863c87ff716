"""Telemetry: what the run measures and how it is shown.

* :mod:`.collector`: per-frame stage times and stage figures, windowed and whole-run (the
  controller's :class:`Telemetry`), and the distributions they are kept in;
* :mod:`.textreport`: the status line and the final table;
* :mod:`.trace`: Chrome trace-event output (``--trace-out``);
* :mod:`.monitors`: the ``-u`` utilisation monitors drawn on the frames;
* :mod:`.memory`: how much memory a process really holds;
* :mod:`.histograms` and :mod:`.metrics`: what ``ctl metrics`` and ``/metrics`` show (latency
  histograms, every process's CPU and memory);
* :mod:`.machine`: the host's description in every report.
"""

from .collector import STAGES, Telemetry, frame_times
from .distribution import Distribution
from .memory import peak_rss_mb, pss_mb, rss_mb
from .metrics import run_metrics

__all__ = ["STAGES", "Distribution", "Telemetry", "frame_times", "peak_rss_mb", "pss_mb", "rss_mb", "run_metrics"]
