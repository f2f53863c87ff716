"""``--local-nodes N``: a Ray cluster of N nodes on this machine, all on 127.0.0.1, made with
Ray's own ``ray.cluster_utils.Cluster``: a head that takes no source (0 CPUs) and N nodes of
1 CPU each with small object stores (nothing big travels through them). Each node has its own
raylet, so killing one is a node lost. :meth:`LocalCluster.close` removes every node's processes
and Ray's session folder, whatever happened to them.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from typing import Any

LOOPBACK = "127.0.0.1"  # every node, and all their traffic, on the loopback
OBJECT_STORE_BYTES = 75 * 2**20  # Ray's smallest object store
# The head notices a node gone within about 3 s (Ray's default takes about 15 s).
HEALTH_CHECKS = {"health_check_initial_delay_ms": 1000, "health_check_period_ms": 1000,
                 "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3}


class LocalCluster:
    def __init__(self, nodes: int) -> None:
        self.count = nodes
        self.cluster: Any = None
        # short, since Ray's socket paths under it must fit in 107 bytes
        self.temp = tempfile.mkdtemp(prefix="pp-ray-", dir="/tmp")

    def start(self) -> str:
        """Start the head and the nodes; returns the cluster's address."""
        from ray.cluster_utils import Cluster
        # Ray's own files (the cluster's address file too) go in our folder, not in /tmp/ray
        os.environ["RAY_TMPDIR"] = self.temp
        os.makedirs(os.path.join(self.temp, "ray"))
        common = {"object_store_memory": OBJECT_STORE_BYTES, "temp_dir": os.path.join(self.temp, "ray"),
                  "node_ip_address": LOOPBACK}
        self.cluster = Cluster(initialize_head=True, connect=False, shutdown_at_exit=True,
                               head_node_args={"num_cpus": 0, "include_dashboard": False,
                                               "_system_config": HEALTH_CHECKS, **common})
        for _ in range(self.count):
            self.cluster.add_node(wait=False, num_cpus=1, **common)
        self.cluster.wait_for_nodes(timeout=180)
        return str(self.cluster.address)

    def reap(self, pids: list[int], folders: list[str], wait_s: float = 12.0) -> None:
        """After a node was lost: wait for the pipelines it ran (each stops within 8 s of losing
        its actor), kill any still there, and remove the actors' folders."""
        deadline = time.monotonic() + wait_s
        left = [pid for pid in pids if _is_node_job(pid)]
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [pid for pid in left if _is_node_job(pid)]
        for pid in left:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        try:
            if self.cluster is not None:
                try:
                    self.cluster.shutdown()
                except Exception:  # a node whose raylet was killed: kill what is left of each
                    for node in self.cluster.list_all_nodes():
                        try:
                            node.kill_all_processes(check_alive=False, allow_graceful=False, wait=True)
                        except Exception:
                            pass
        finally:
            shutil.rmtree(self.temp, ignore_errors=True)
            if os.environ.get("RAY_TMPDIR") == self.temp:
                del os.environ["RAY_TMPDIR"]


def _is_node_job(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"pipeline.cluster.nodejob" in f.read()
    except OSError:
        return False
