"""``--http``: the run's live page, Prometheus metrics and REST API, served by a process of its own.

The controller starts :class:`web.stage.HttpStage` like any other stage (``config/defaults.toml``
``[stages]``); nothing here runs inside another stage's loop.

* :mod:`.frames`: the pictures: wishes on the sink's preview board
  (:mod:`pipeline.outputs.preview`), and one JPEG per new picture shared by every viewer;
* :mod:`.control`: the same requests as ``python -m pipeline.ctl`` (status, add, remove, mode,
  metrics), to the controller's own socket for this process;
* :mod:`.metrics`: the Prometheus text exposition, with ``prometheus_client``;
* :mod:`.server`: the HTTP server (standard library ``ThreadingHTTPServer``) and its routes;
* ``page.html``: the page, self-contained (inline script and style, no CDN).

Above ``pipeline`` in the layering (it uses the stage life cycle and the ctl client); nothing
imports it but the controller's ``[stages]`` entry and the scripts.
"""
