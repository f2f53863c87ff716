"""Past one machine: the run's sources spread over the nodes of a Ray cluster, results in one place.

Each node runs the ordinary multi-source pipeline (``python -m pipeline``) on its share of the
sources, as a subprocess held by an actor pinned to that node (:mod:`.node`); frames never leave
the node, only poses lines and figures travel. The driver (:mod:`.driver`) writes the one
``--poses-out`` file, every source's frames in order and exactly once, and moves the sources of
a node that is lost to the nodes left, file sources resuming after the last frame written.
``python -m pipeline.cluster`` (:mod:`.cli`) takes the pipeline's options plus
``--ray-address`` or ``--local-nodes``.
"""
