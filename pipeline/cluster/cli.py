"""``python -m pipeline.cluster`` (``posepipe-cluster``): the pipeline's command line, run over a
Ray cluster. Every pipeline option keeps its meaning (each node runs ``python -m pipeline`` on its
share of the sources, always headless); ``--poses-out`` is the driver's one file for all sources,
``-o`` is written on the node that reads the source, ``--control`` is the driver's address
(``pipeline.ctl status`` answers per node and per source) and ``--telemetry-out`` the driver's
report (nodes, sources, moves). Add ``--ray-address ADDRESS`` for a running cluster or
``--local-nodes N`` to simulate N nodes on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from pipeline.cli import build_parser as pipeline_parser
from pipeline.cli import config_from_args
from pipeline.errors import EXIT_FAILURE, PipelineError, UsageError, printable
from pipeline.outputs import check_writable_file
from pipeline.sources.inputs import expand_inputs

from .join import head_endpoint

# options the driver keeps for itself (or sets per node) instead of passing them to the nodes
DRIVER_ONLY = {"help", "input", "output", "poses_out", "control", "telemetry_out", "trace_out", "start_at",
               "source_ids", "no_show", "ray_address", "local_nodes", "http", "http_fps", "http_token_file"}
MAX_LOCAL_NODES = 8


def build_parser() -> argparse.ArgumentParser:
    parser = pipeline_parser()
    parser.prog = "python -m pipeline.cluster"
    parser.description = "The pose estimation pipeline over the nodes of a Ray cluster, results in one place."
    group = parser.add_argument_group("Cluster options").add_mutually_exclusive_group()
    group.add_argument("--ray-address", metavar="ADDRESS",
                       help="A running Ray cluster (HEAD:PORT, as `ray start --head` prints; 'auto' for the one "
                            "this machine belongs to).")
    group.add_argument("--local-nodes", type=int, metavar="N",
                       help="Simulate N nodes on this machine (1 CPU each, all on 127.0.0.1).")
    return parser


def node_arguments(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> list[str]:
    """The options every node's pipeline gets: those given, but the driver's own, and -no_show."""
    argv = ["-no_show"]
    for action in parser._actions:
        if action.dest in DRIVER_ONLY or not action.option_strings:
            continue
        value = getattr(ns, action.dest, None)
        if action.nargs == 0:
            if value and value != action.default:
                argv.append(action.option_strings[0])
        elif value is not None and value != action.default:
            if action.dest == "model" and os.path.exists(value):
                value = os.path.abspath(value)
            argv += [action.option_strings[0], str(value)]
    return argv


def _absolute(text: str) -> str:
    return os.path.abspath(text) if os.path.exists(text) else text


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        if ns.ray_address is None and ns.local_nodes is None:
            raise UsageError("give --ray-address ADDRESS (a running Ray cluster) or --local-nodes N")
        if ns.ray_address is not None:
            head_endpoint(ns.ray_address)  # HOST:PORT, checked before anything starts
        if ns.local_nodes is not None and not 1 <= ns.local_nodes <= MAX_LOCAL_NODES:
            raise UsageError(f"--local-nodes must be between 1 and {MAX_LOCAL_NODES} (got {ns.local_nodes})")
        http = None
        if ns.http_token_file and not ns.http:
            raise UsageError("--http-token-file needs --http")
        if ns.http:
            from pipeline.outputs.http import check_http, check_port_free
            where, token = check_http(ns.http, ns.http_fps, ns.http_token_file)
            check_port_free(where)
            http = (where.host, where.port, token, float(ns.http_fps))
        if ns.start_at or ns.source_ids:
            raise UsageError("--start-at and --source-ids are for one node's pipeline; the cluster sets them")
        inputs = [_absolute(text) for text in expand_inputs(ns.input)]
        node_argv = node_arguments(parser, ns)
        config_from_args([*node_argv, "-i", inputs[0]])  # the options, checked here with one-line errors
        output = os.path.abspath(ns.output) if ns.output else None
        if output and len(inputs) > 1 and "{source}" not in output and os.path.splitext(output)[1]:
            raise UsageError(f"-o {ns.output}: with several sources give a folder or a name with {{source}}")
        if ns.local_nodes is not None:  # every node is this machine: check the inputs before starting
            from pipeline.sources import probe
            for i, text in enumerate(inputs):
                try:
                    probe(text)
                except PipelineError as exc:
                    exc.args = (f"source {i}: {exc}" if len(inputs) > 1 else str(exc),)
                    raise
        if ns.poses_out:
            check_writable_file(ns.poses_out, "--poses-out")
    except PipelineError as exc:
        print(printable(f"error: {exc}"), file=sys.stderr)
        return exc.exit_code
    import importlib.util
    if importlib.util.find_spec("ray") is None:
        print("error: Ray is not installed: pip install 'posepipe[cluster]'", file=sys.stderr)
        return EXIT_FAILURE
    return _run(ns, inputs, node_argv, output, http)


def _run(ns: argparse.Namespace, inputs: list[str], node_argv: list[str], output: str | None,
         http: tuple[str, int, str, float] | None = None) -> int:
    import logging
    if ns.local_nodes:
        # Ray turns a loopback address into the machine's own; a cluster on the loopback
        # only must not (Ray's switch for that is this variable, read when ray is imported)
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray
    from .driver import Driver
    from .join import join
    from .local import LOOPBACK, LocalCluster
    local = LocalCluster(ns.local_nodes) if ns.local_nodes else None
    try:
        address = ns.ray_address
        try:
            if local is not None:
                address = local.start()
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False,
                         _node_ip_address=LOOPBACK)
            else:
                join(ray, address, logging_level=logging.WARNING, log_to_driver=False)
        except PipelineError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except Exception as exc:  # Ray's own errors (no such cluster, nodes that do not start)
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            print(f"error: cannot {'start' if address is None else 'join'} the Ray cluster"
                  f"{'' if address is None else ' at ' + address}: {reason}", file=sys.stderr)
            return EXIT_FAILURE
        driver = Driver(inputs, node_argv, output, ns.poses_out, ns.control, ns.telemetry_out, http)
        code = driver.run()
        if local is not None:
            local.reap(*driver.leftovers())
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        ray.shutdown()
        if local is not None:
            local.close()


if __name__ == "__main__":
    sys.exit(main())
