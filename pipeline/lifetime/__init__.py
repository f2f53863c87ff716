"""What outlives the controller: nothing of a run does.

The stages watch the controller from their first moment and clean up after it when it dies
(:mod:`pipeline.stage`). Before any stage exists, though, the controller has already made the
run's directory and shared-memory rings; :mod:`pipeline.lifetime.guardian` is a small process,
started before the first of them, that removes what is left of the run if the controller is
killed (SIGKILL, the OOM killer) at any moment, and simply exits when the controller ends as it
should.

:mod:`pipeline.lifetime.spawning` covers the last gap: a stage the controller was starting when
it died exits without a traceback.
"""
