#!/usr/bin/env python3
"""A tiny RTSP server for the tests: serves a folder of JPEG frames as an endless RTP/JPEG stream.

Run it with Debian's system Python (``/usr/bin/python3``), which can import ``gi``; it needs
``python3-gi``, ``gir1.2-gst-rtsp-server-1.0`` and ``gstreamer1.0-plugins-good``::

    /usr/bin/python3 tests/rtsp_server.py FRAMES_DIR --fps 10 --port 8554 --name cam

``FRAMES_DIR`` holds ``00000.jpg``, ``00001.jpg``, … (baseline JPEG, sides multiples of 8). The
frames are sent as they are (no decoding, no encoding), at ``--fps`` frames per second, looping
forever; all clients share one stream. The server listens on 127.0.0.1 only. Once it accepts
connections it prints one line ``ready rtsp://127.0.0.1:PORT/NAME`` (``--port 0`` picks a free
port; the line gives the real one). SIGTERM or SIGINT stops it with exit status 0, and so does
the death of its parent process (a test runner killed hard leaves no server behind). Bad arguments
or a port in use: one ``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

HOST = "127.0.0.1"
PARENT = os.getppid()  # read first thing: the server exits when this process is gone


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Serve a folder of JPEG frames over RTSP on 127.0.0.1.")
    p.add_argument("frames", type=Path, help="folder with 00000.jpg, 00001.jpg, ...")
    p.add_argument("--fps", type=int, default=10, help="frames per second (default 10)")
    p.add_argument("--port", type=int, default=8554, help="TCP port; 0 picks a free one")
    p.add_argument("--name", default="stream", help="mount point: rtsp://127.0.0.1:PORT/NAME")
    args = p.parse_args(argv)
    if not (args.frames / "00000.jpg").is_file():
        fail(f"{args.frames}/00000.jpg not found: the folder must hold 00000.jpg, 00001.jpg, ...")
    if not 1 <= args.fps <= 120:
        fail(f"--fps must be between 1 and 120, not {args.fps}")
    if not 0 <= args.port <= 65535:
        fail(f"--port must be between 0 and 65535, not {args.port}")
    if not args.name or not args.name.replace("-", "").replace("_", "").isalnum():
        fail(f"--name must be letters, digits, '-' or '_', not {args.name!r}")
    return args


def launch_line(frames: Path, fps: int) -> str:
    """The media pipeline: files → RTP/JPEG payloader, no decode or encode. multifilesrc leaves
    buffers without timestamps; :func:`stamp_frames` gives them ``n / fps``, and ``identity sync``
    then paces the (non-live) file source on the clock."""
    location = str(frames.resolve() / "%05d.jpg").replace('"', '\\"')
    return (f'( multifilesrc location="{location}" loop=true '
            f'caps="image/jpeg,framerate={fps}/1" name=src ! jpegparse ! identity sync=true '
            f'! rtpjpegpay name=pay0 pt=26 )')


def stamp_frames(media, fps: int) -> None:
    """Timestamp every frame multifilesrc reads: frame n gets PTS n / fps and duration 1 / fps."""
    from gi.repository import Gst
    duration = Gst.SECOND // fps
    count = 0

    def stamp(_pad, info):
        nonlocal count
        buf = info.get_buffer()  # a fresh buffer per file, owned by this probe alone
        buf.pts = buf.dts = count * duration
        buf.duration = duration
        count += 1
        return Gst.PadProbeReturn.OK

    pad = media.get_element().get_by_name("src").get_static_pad("src")
    pad.add_probe(Gst.PadProbeType.BUFFER, stamp)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import gi
        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as e:
        fail(f"GStreamer's RTSP server is not installed ({e}): "
             "apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good")
    Gst.init(None)
    for element in ("multifilesrc", "jpegparse", "identity", "rtpjpegpay"):
        if Gst.ElementFactory.find(element) is None:
            fail(f"GStreamer element {element} is missing: apt-get install "
                 "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad")

    server = GstRtspServer.RTSPServer()
    server.set_address(HOST)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.frames, args.fps))
    factory.set_shared(True)  # one media pipeline for all clients
    factory.connect("media-configure", lambda _factory, media: stamp_frames(media, args.fps))
    server.get_mount_points().add_factory(f"/{args.name}", factory)

    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, lambda *_: (loop.quit(), False)[1])
    GLib.timeout_add_seconds(1, lambda: os.getppid() == PARENT or (loop.quit(), False)[1])
    try:
        source_id = server.attach(None)  # creates, binds (SO_REUSEADDR) and listens
    except GLib.Error as e:
        fail(f"cannot listen on {HOST}:{args.port}: {e.message}")
    if source_id == 0:
        fail(f"cannot listen on {HOST}:{args.port}")
    print(f"ready rtsp://{HOST}:{server.get_bound_port()}/{args.name}", flush=True)
    loop.run()
    GLib.source_remove(source_id)  # closes the listening socket
    # Tear down sessions and media so clients see the connection close.
    pool = server.get_session_pool()
    pool.filter(lambda _pool, _session, *_: GstRtspServer.RTSPFilterResult.REMOVE, None)
    server.client_filter(lambda _server, _client, *_: GstRtspServer.RTSPFilterResult.REMOVE, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
