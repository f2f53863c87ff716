"""The runtime core: plans a run, owns its shared memory and sockets, starts and supervises the
stage processes, and carries frames and messages between them.

At the top, the core itself: :mod:`.cli` (the command line) → :mod:`.controller` (plans with
:mod:`.plan`, starts and supervises the stages, with :mod:`.watchdog`, :mod:`.window` and
:mod:`.lightload`), :mod:`.stage` (the life cycle every stage process keeps), :mod:`.config`,
:mod:`.messages`, :mod:`.transport` (ZeroMQ), :mod:`.ring` (shared memory) and :mod:`.errors`.

Its rooms, one concern each:

* :mod:`.sources`: what ``-i`` names, what each input is, how its frames are read, and the run's
  table of sources;
* :mod:`.outputs`: where results go (``-o``, ``--publish``), checked before anything starts;
* :mod:`.models`: the model families, and the real models fetched or converted on demand;
* :mod:`.telemetry`: figures, the status line and final table, traces, ``-u`` monitors;
* :mod:`.ctl`: headless control (``python -m pipeline.ctl``), its address and keys;
* :mod:`.cluster`: the same run spread over a Ray cluster.

Imports go one way: ``scripts`` → ``stages``, ``tracking``, ``publishing`` → ``pipeline`` →
``config``. This package never imports the layers above it: the controller starts the stages by
the names ``config/defaults.toml`` gives them (``[stages]``), in processes of their own.
"""
