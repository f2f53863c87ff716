"""Headless control of a running pipeline: the ``ctl`` command (``python -m pipeline.ctl``), the
controller's ``--control`` address and the CurveZMQ keys of a ``tcp://`` one.

* :mod:`.client`: ``ctl``'s requests, and the controller's side of one request (:func:`serve_one`);
* :mod:`.later`: replies that wait for slow work (``add`` of a large folder) without stopping the
  controller's loop;
* :mod:`.address`: ``--control`` checked before the run starts, and bound;
* :mod:`.keys`: who may control a run over the network.
"""

from .address import ControlSocket, bind_page_socket, check_control_address
from .client import main, request, serve_one
from .keys import apply_client, create_keys
from .later import Later, Responder, on_thread

__all__ = ["ControlSocket", "Later", "Responder", "apply_client", "bind_page_socket", "check_control_address",
           "create_keys", "main", "on_thread", "request", "serve_one"]
