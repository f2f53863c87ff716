"""``--http``: the live page in a real browser (Debian's chromium, headless), /metrics read by
prometheus_client's own parser and by a real Prometheus, MJPEG read by OpenCV, the REST API under
hostile requests. One looping run of three sources serves every test of the module (the tests
that change it, removing a source, come last)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import cv2
import numpy as np
import pytest

from pipeline.outputs.preview import PreviewBoard, create_board
from tests.helpers import (
    ROOT,
    Running,
    make_clip,
    movenet_model,
    run_pipeline,
    tagged_processes,
)

PROMETHEUS = shutil.which("prometheus")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET",
        body: bytes | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def raw(port: int, data: bytes, timeout: float = 30) -> bytes:
    """Send ``data`` as it is and return the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


class Served:
    def __init__(self, run: Running, port: int) -> None:
        self.run, self.port = run, port

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample):
    folder = tmp_path_factory.mktemp("web")
    clips = [make_clip(folder / f"clip{i}.avi", frames=30, start=100 + 150 * i) for i in range(3)]
    port = free_port()
    args = [a for clip in clips for a in ("-i", str(clip))]
    run = Running(folder, *args, "--loop", "--realtime", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--http", str(port))
    Running.live.remove(run)  # this module's run outlives each test; the fixture ends it
    try:
        run.wait_until(lambda s: all(src["frames"] for src in s["sources"].values()) and len(s["sources"]) == 3,
                       timeout=300)
        yield Served(run, port)
    finally:
        if run.proc.poll() is None:
            run.ctl("stop", timeout=10)
            try:
                run.finish(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        run.kill()
        assert not tagged_processes(run.tag)


def test_the_run_says_where_the_page_is_and_is_healthy(served):
    code, _, body = get(served.port, "/healthz")
    assert code == 200, body
    assert body.startswith(b"ok")
    code, _, page = get(served.port, "/")
    assert code == 200 and b"<title>posepipe</title>" in page
    assert b"http://" not in page.replace(b"http://www.w3.org", b"")  # nothing fetched from elsewhere


def test_healthz_says_which_stage_is_not_running(served):
    import signal
    pid = served.run.status()["stages"]["preprocess"]
    os.kill(pid, signal.SIGSTOP)  # briefly: the watchdog would stop the run after 10 s
    try:
        code, _, body = get(served.port, "/healthz")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert code == 503
    assert body.decode().strip() == f"stage preprocess (pid {pid}) is stopped (SIGSTOP)"
    deadline = time.monotonic() + 30
    while get(served.port, "/healthz")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_api_status_is_what_ctl_status_gives(served):
    code, headers, body = get(served.port, "/api/status")
    assert code == 200 and headers["Content-Type"] == "application/json"
    over_http = json.loads(body)
    by_ctl = served.run.status()
    assert set(over_http) == set(by_ctl)
    assert set(over_http["sources"]) == set(by_ctl["sources"]) == {"0", "1", "2"}
    assert over_http["stages"] == by_ctl["stages"] and "http" in by_ctl["stages"]


def test_metrics_parse_with_prometheus_client(served):
    from prometheus_client.parser import text_string_to_metric_families
    code, headers, body = get(served.port, "/metrics")
    assert code == 200 and headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    kinds = {"posepipe_frames": "counter", "posepipe_dropped_frames": "counter", "posepipe_reconnects": "counter",
             "posepipe_source_fps": "gauge", "posepipe_latency_seconds": "histogram",
             "posepipe_stage_service_seconds": "histogram", "posepipe_stage_wait_seconds": "histogram",
             "posepipe_inference_requests_in_flight": "gauge", "posepipe_decode_worker_busy_ratio": "gauge",
             "posepipe_process_cpu_seconds": "counter", "posepipe_process_resident_memory_bytes": "gauge"}
    for name, kind in kinds.items():
        assert name in families, name
        assert families[name].type == kind, name
    assert "posepipe_mqtt_messages" not in families  # no --publish
    frames = {s.labels["source"]: s.value for s in families["posepipe_frames"].samples}
    assert set(frames) == {"0", "1", "2"} and all(v > 0 for v in frames.values())
    latency = families["posepipe_latency_seconds"].samples
    counts = {s.labels["source"]: s.value for s in latency if s.name.endswith("_count")}
    assert all(counts[sid] > 0 for sid in "012")
    infs = {s.labels["source"]: s.value for s in latency if s.labels.get("le") == "+Inf"}
    assert infs == counts
    stages = {s.labels["stage"] for s in families["posepipe_stage_service_seconds"].samples}
    assert stages == {"capture", "preprocess", "infer", "decode", "sink"}
    cpu = {s.labels["stage"]: s.value for s in families["posepipe_process_cpu_seconds"].samples}
    assert {"infer", "sink", "http", "controller"} <= set(cpu) and cpu["infer"] > 0
    memory = {s.labels["stage"]: s.value for s in families["posepipe_process_resident_memory_bytes"].samples}
    assert memory["infer"] > 10 * 2**20
    assert "metrics" not in json.loads(get(served.port, "/api/status")[2])  # the status stays what ctl gives


def test_an_mjpeg_stream_plays_in_opencv(served):
    cap = cv2.VideoCapture(served.url("/stream/0.mjpg"), cv2.CAP_FFMPEG)
    try:
        assert cap.isOpened()
        frames = []
        deadline = time.monotonic() + 120
        while len(frames) < 3 and time.monotonic() < deadline:
            ok, frame = cap.read()
            if ok:
                frames.append(frame)
    finally:
        cap.release()
    assert len(frames) == 3
    assert frames[0].shape == (288, 384, 3)
    assert frames[0].std() > 10  # a picture, not a blank
    assert any(np.abs(f.astype(int) - frames[0]).mean() > 0.5 for f in frames[1:])  # and it moves


def test_one_picture_and_unknown_streams(served):
    code, headers, body = get(served.port, "/frame/1.jpg")
    assert code == 200 and headers["Content-Type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (288, 384, 3)
    assert get(served.port, "/stream/7.mjpg")[0] == 404
    assert get(served.port, "/frame/7.jpg")[0] == 404


HOSTILE = [
    # (what, request, expected status)
    ("a form post (cross-site forms cannot send JSON)", ("POST", "/api/sources", {"Content-Type":
     "application/x-www-form-urlencoded"}, b"source=media/vtest.avi"), 415),
    ("not JSON", ("POST", "/api/sources", {"Content-Type": "application/json"}, b"{nope"), 400),
    ("JSON but not an object", ("POST", "/api/sources", {"Content-Type": "application/json"}, b"[1, 2]"), 400),
    ("no source", ("POST", "/api/sources", {"Content-Type": "application/json"}, b'{"source": 3}'), 400),
    ("a source that is not there", ("POST", "/api/sources", {"Content-Type": "application/json"},
                                    b'{"source": "/no/such/clip.mp4"}'), 400),
    ("a device file", ("POST", "/api/sources", {"Content-Type": "application/json"}, b'{"source": "/dev/zero"}'), 400),
    ("a huge body", ("POST", "/api/sources", {"Content-Type": "application/json"}, b"x" * 200_000), 413),
    ("a bad mode", ("POST", "/api/mode", {"Content-Type": "application/json"}, b'{"mode": "fast"}'), 400),
    ("another site's page", ("POST", "/api/mode", {"Content-Type": "application/json", "Origin": "http://evil.example"},
                             b'{"mode": "toggle"}'), 403),
    ("DNS rebinding", ("GET", "/api/status", {"Host": "evil.example"}, None), 403),
    ("a source id that is not a number", ("DELETE", "/api/sources/..%2f..", {}, None), 400),
    ("a source that does not exist", ("DELETE", "/api/sources/99", {}, None), 404),
    ("a path outside", ("GET", "/../../etc/passwd", {}, None), 404),
    ("a method nobody serves", ("PUT", "/api/sources", {}, None), 501),
]


@pytest.mark.parametrize("what,request_,expected", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_requests_get_4xx_and_the_run_goes_on(served, what, request_, expected):
    method, path, headers, body = request_
    code, _, answer = get(served.port, path, headers=headers, method=method, body=body)
    assert code == expected, answer
    assert json.loads(answer)["ok"] is False
    assert get(served.port, "/healthz")[0] == 200


def test_garbage_on_the_socket_gets_4xx(served):
    assert raw(served.port, b"\x16\x03\x01\x00\xa5garbage\r\n\r\n").startswith(b"HTTP/1.1 400")  # TLS to plain
    assert raw(served.port, b"GET / XTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(served.port, b"GET / HTTP/9.9\r\n\r\n").startswith(b"HTTP/1.1 505")
    assert raw(served.port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 414")
    assert raw(served.port, b"GET /healthz HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n").startswith(b"HTTP/1.1 431")
    assert get(served.port, "/healthz")[0] == 200


def test_the_same_sources_ctl_add_refuses_are_refused(served, tmp_path):
    body = json.dumps({"source": str(tmp_path)}).encode()  # an empty folder
    code, _, answer = get(served.port, "/api/sources", {"Content-Type": "application/json"}, "POST", body)
    by_ctl = served.run.ctl("add", str(tmp_path))
    assert code == 400 and by_ctl.returncode != 0
    assert json.loads(answer)["error"] in by_ctl.stderr


def test_the_page_answers_while_ctl_add_reads_a_slow_folder(served, tmp_path):
    """``ctl add`` of a folder that takes seconds to read (here: a hundred links to one 12-megapixel
    WebP, decoded whole to learn its size) is read off the controller's loop: the page's status
    keeps answering meanwhile, and the add's reply comes when the folder has been read (a refusal
    here, since its pictures are larger than this run's frame slots). A controller that reads it
    on its loop leaves the page without answers for those seconds."""
    import threading
    rng = np.random.default_rng(1)
    picture = cv2.GaussianBlur((rng.random((3000, 4000, 3)) * 255).astype(np.uint8), (0, 0), 3)
    folder = tmp_path / "slow"
    folder.mkdir()
    first = folder / "000.webp"
    assert cv2.imwrite(str(first), picture, [cv2.IMWRITE_WEBP_QUALITY, 50])
    for i in range(1, 100):
        os.link(first, folder / f"{i:03d}.webp")
    reply: dict[str, subprocess.CompletedProcess] = {}
    adding = threading.Thread(target=lambda: reply.setdefault("add", served.run.ctl("add", str(folder), timeout=120)))
    started = time.monotonic()
    adding.start()
    answered_meanwhile = 0
    while adding.is_alive():
        asked = time.monotonic()
        code, _, body = get(served.port, "/api/status", timeout=60)
        waited = time.monotonic() - asked
        assert code == 200 and waited < 3.0, (code, waited, body[:200])
        if adding.is_alive():
            answered_meanwhile += 1
        time.sleep(0.25)
    took = time.monotonic() - started
    assert answered_meanwhile >= 4, (answered_meanwhile, took)
    add = reply["add"]
    assert add.returncode != 0 and "larger than this run's frame slots" in add.stderr, add.stderr
    assert served.run.proc.poll() is None
    assert set(served.run.status()["sources"]) == {"0", "1", "2"}


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus is not installed (apt-get install prometheus)")
def test_prometheus_scrapes_the_run_and_answers_a_stage_quantile(served, tmp_path):
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: posepipe\n    static_configs:\n      - targets: ['127.0.0.1:{served.port}']\n")
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    query = 'histogram_quantile(0.5, posepipe_stage_service_seconds_bucket{stage="infer"})'
    try:
        deadline = time.monotonic() + 120
        value = None
        while time.monotonic() < deadline and value is None:
            time.sleep(1)
            try:
                url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(query)}"
                with urllib.request.urlopen(url, timeout=10) as r:
                    result = json.load(r)["data"]["result"]
            except OSError:
                continue
            if result:
                value = float(result[0]["value"][1])
    finally:
        proc.terminate()
        proc.wait(30)
    assert value is not None, "Prometheus never had the infer stage's histogram"
    assert 0 < value < 10  # seconds: inference of one frame


def test_a_killed_web_process_is_started_again_and_the_cameras_go_on(served):
    import signal
    before = served.run.status()
    os.kill(before["stages"]["http"], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, "the page never came back"
        try:
            if get(served.port, "/healthz", timeout=5)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    after = served.run.status()
    assert after["stages"]["http"] != before["stages"]["http"]
    assert served.run.proc.poll() is None
    served.run.wait_until(lambda s: s["frames"] > after["frames"], timeout=60)


def tile_boxes(browser) -> dict[str, list[float]]:
    return browser.js("Object.fromEntries([...document.querySelectorAll('.tile')].map(t => [t.dataset.source, "
                      "(r => [r.x, r.y, r.width, r.height])(t.querySelector('.pic').getBoundingClientRect())]))")


def crop(image: np.ndarray, box: list[float]) -> np.ndarray:
    x, y, w, h = (round(v) for v in box)
    return image[y:y + h, x:x + w]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_page_in_a_browser_shows_every_source_live_and_removes_one(served, tmp_path):
    from tests.browser import Browser
    with Browser() as browser:
        browser.open(served.url("/"))
        browser.wait_for("document.querySelectorAll('.tile').length === 3")
        # every tile gets a picture and figures
        browser.wait_for("[...document.querySelectorAll('.tile .pic')].every(i => i.complete && i.naturalWidth > 0)",
                         timeout=120)
        states = browser.js("[...document.querySelectorAll('.tile')].map(t => t.dataset.state)")
        assert len(states) == 3 and all(states), states
        assert browser.js("[...document.querySelectorAll('.tile .state')].map(s => s.textContent)") == states
        assert all(t.endswith("FPS") for t in browser.js("[...document.querySelectorAll('.tile .fps')].map(s => "
                                                         "s.textContent)"))
        assert browser.js("document.querySelectorAll('#bars .bar').length") == 5
        frames = browser.js("Object.fromEntries([...document.querySelectorAll('.tile')].map(t => "
                            "[t.dataset.source, t.querySelector('.pic').dataset.frame]))")
        first = browser.screenshot()
        boxes = tile_boxes(browser)
        time.sleep(1.0)
        # a second later (or once every tile has a newer frame, on a slow host) the pictures moved
        browser.wait_for("[...document.querySelectorAll('.tile')].every(t => t.querySelector('.pic').dataset.frame "
                         f"!== {json.dumps(frames)}[t.dataset.source])", timeout=120)
        second = browser.screenshot()
        assert boxes == tile_boxes(browser)
        for sid, box in boxes.items():
            a, b = crop(first, box), crop(second, box)
            assert a.size and a.std() > 10, f"tile {sid} shows no picture"
            assert np.abs(a.astype(int) - b).mean() > 0.5, f"tile {sid}'s picture did not change"
        if os.environ.get("POSEPIPE_SCREENSHOT"):
            browser.save_screenshot(os.environ["POSEPIPE_SCREENSHOT"])
        # the mode switch
        mode = served.run.status()["mode"]
        browser.js("document.getElementById('toggle').click()")
        served.run.wait_until(lambda s: s["mode"] != mode, timeout=30)
        browser.wait_for(f"document.body.dataset.mode !== {json.dumps(mode)}", timeout=30)
        # removing a source with its button
        browser.js("document.querySelector('#tile-2 .remove').click()")
        browser.wait_for("document.querySelectorAll('.tile').length === 2 && !document.getElementById('tile-2')")
        served.run.wait_until(lambda s: s["sources"]["2"]["state"] in ("removed", "ended"), timeout=60)
        time.sleep(2.5)  # two more status polls: the tile stays gone
        assert browser.js("[...document.querySelectorAll('.tile')].map(t => t.dataset.source)") == ["0", "1"]


# -- without a run ---------------------------------------------------------------------------

def test_the_preview_board_copies_only_what_is_watched_and_never_a_torn_picture():
    ring = create_board(2, 64 * 48 * 3, "")
    try:
        board = PreviewBoard(ring)
        image = np.full((48, 64, 3), 7, np.uint8)
        assert not board.offer(0, image, 1, now_ns=10**9)  # nobody watches
        slot = board.watch(0, hold_ns=2 * 10**9, period_ns=10**8, now_ns=10**9)
        assert slot is not None
        assert board.offer(0, image, 1, now_ns=10**9 + 2 * 10**8)
        assert not board.offer(0, image + 1, 2, now_ns=10**9 + 2 * 10**8 + 10)  # sooner than the period
        seq, index, picture = board.latest(slot, 0)
        assert index == 1 and (picture == 7).all() and seq % 2 == 0
        assert board.latest(slot, 0, after=seq) is None
        assert board.latest(slot, 1) is None  # another source's picture is never handed out
        assert board.watch(1, 10**9, 10**8, now_ns=10**9) is not None
        assert board.watch(2, 10**9, 10**8, now_ns=10**9) is None  # every slot is wanted
        board.headers[slot][2] += 1  # a copy under way
        assert board.latest(slot, 0) is None
        board.headers[slot][2] += 1
        assert not board.offer(0, image, 3, now_ns=10**12)  # the wish lapsed
        board.close()
    finally:
        ring.close()
        ring.unlink()


@pytest.mark.parametrize("args,words", [
    (["--http", "0.0.0.0:8080"], "needs --http-token-file"),
    (["--http", "99999"], "port number"),
    (["--http", "::1:80"], "brackets"),
    (["--http", "8080", "--http-fps", "0"], "--http-fps"),
    (["--http-token-file", "/etc/hostname"], "needs --http"),
])
def test_bad_http_options_get_one_line(args, words, sample):
    done = run_pipeline("-i", str(sample), "-at", "movenet", "-m", movenet_model(), "-no_show", *args, timeout=120)
    assert done.code == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("error: ") and words in done.stderr
    assert not tagged_processes(done.tag)


def test_a_port_in_use_is_refused_before_anything_starts(sample):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = run_pipeline("-i", str(sample), "-at", "movenet", "-m", movenet_model(), "-no_show",
                            "--http", str(port), timeout=180)
    assert done.code != 0
    assert done.stderr.strip().splitlines()[-1] == f"error: --http 127.0.0.1:{port}: Address already in use"
    assert "control:" not in done.stderr  # nothing started
    assert not tagged_processes(done.tag)


def test_a_token_guards_every_request(tmp_path, sample):
    clip = make_clip(tmp_path / "clip.avi", frames=12)
    token = "posepipe-test-token-0123456789"
    (tmp_path / "token").write_text(token + "\n")
    os.chmod(tmp_path / "token", 0o600)
    port = free_port()
    with Running(tmp_path, "-i", str(clip), "--loop", "--realtime", "-at", "movenet", "-m", movenet_model(),
                 "-no_show", "--http", f"127.0.0.1:{port}", "--http-token-file", str(tmp_path / "token")) as run:
        run.status()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                code, headers, _ = get(port, "/api/status")
                break
            except OSError:
                time.sleep(0.5)
        assert code == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert get(port, "/metrics", {"Authorization": "Bearer wrong-token-wrong-token"})[0] == 401
        assert get(port, "/metrics", {"Authorization": f"Bearer {token}"})[0] == 200
        assert get(port, f"/?token={token}")[0] == 200
        assert get(port, "/healthz", {"Authorization": f"Bearer {token}", "Host": "anything.example"})[0] == 200
        done = run.ctl("stop", timeout=10)
        assert done.returncode == 0
        code, _, err = run.finish()
    assert code == 0, err
    assert "every request needs the bearer token" in err


def test_http_addresses_are_read_as_written():
    from pipeline.errors import UsageError
    from pipeline.outputs.http import parse_http
    assert parse_http("8080") == parse_http(":8080") == parse_http("localhost:8080")
    assert parse_http("8080").host == "127.0.0.1" and parse_http("8080").loopback
    assert parse_http("[::1]:8080").host == "::1" and parse_http("[::1]:8080").loopback
    assert not parse_http("0.0.0.0:8080").loopback and not parse_http("192.168.1.5:80").loopback
    for bad in ("", "http", "0", "65536", "host:port", "[::1:80", "a b:80", "a/b:80"):
        with pytest.raises(UsageError):
            parse_http(bad)


def test_the_latency_histograms_count_every_frame_in_its_bucket():
    from pipeline.messages import NUM_STAMPS, Stamp
    from pipeline.telemetry.histograms import BOUNDS_S, LatencyHistograms
    stamps = np.zeros((4, NUM_STAMPS), np.int64)
    stamps[:] = np.arange(1, NUM_STAMPS + 1) * 1_000  # 1 µs apart: every stage time is tiny
    e2e_ms = [0.2, 3.0, 40.0, 20_000.0]
    stamps[:, Stamp.READ] = 1_000_000_000
    stamps[:, Stamp.SINK_OUT] = 1_000_000_000 + (np.asarray(e2e_ms) * 1e6).astype(np.int64)
    stamps[:, Stamp.SINK_IN] = stamps[:, Stamp.SINK_OUT] - 1_000
    hist = LatencyHistograms()
    hist.add(stamps, np.asarray([0, 0, 1, 1]))
    out = hist.export()
    assert out["frames"] == {"0": 2, "1": 2}
    edges = list(BOUNDS_S)
    zero, one = out["latency"]["0"], out["latency"]["1"]
    assert zero["count"] == one["count"] == 2
    assert zero["buckets"][edges.index(0.0005)] == 1 and zero["buckets"][edges.index(0.005)] == 2
    assert one["buckets"][edges.index(0.05)] == 1 and one["buckets"][edges.index(10.0)] == 1
    assert one["buckets"][-1] == 2  # +Inf holds the 20 s one
    assert abs(one["sum"] - 20.04) < 1e-6
    assert out["service"]["sink"]["count"] == 4 and out["service"]["sink"]["buckets"][0] == 4


def test_the_cluster_serves_its_page_and_metrics_per_node_and_source(tmp_path, sample):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'posepipe[cluster]')")
    from prometheus_client.parser import text_string_to_metric_families
    clip = make_clip(tmp_path / "clip.avi", frames=12)
    port, address = free_port(), f"ipc://{tmp_path}/ctl"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cluster", "-i", str(clip), "-i", str(clip), "--loop",
                             "--realtime", "-at", "movenet", "-m", movenet_model(), "--local-nodes", "2",
                             "--control", address, "--http", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        state: dict = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                code, _, body = get(port, "/api/status", timeout=20)
                state = json.loads(body) if code == 200 else {}
            except OSError:
                state = {}
            if state.get("sources") and all(s.get("frames") for s in state["sources"].values()):
                break
            time.sleep(1)
        assert state.get("cluster") is True and set(state["nodes"]) == {"node1", "node2"}
        assert {s["node"] for s in state["sources"].values()} == {"node1", "node2"}
        assert all("fps" in s and "latency_ms" in s for s in state["sources"].values())  # from the nodes
        assert get(port, "/healthz")[2].decode().strip() == "ok: 2 nodes alive"
        families = {f.name: f for f in text_string_to_metric_families(get(port, "/metrics")[2].decode())}
        frames = {(m.labels["source"], m.labels["node"]): m.value for m in families["posepipe_frames"].samples}
        assert set(frames) == {("0", state["sources"]["0"]["node"]), ("1", state["sources"]["1"]["node"])}
        assert {m.labels["node"]: m.value for m in families["posepipe_node_up"].samples} == {"node1": 1, "node2": 1}
        assert families["posepipe_source_latency_seconds"].type == "gauge"
        assert get(port, "/")[0] == 200
        assert get(port, "/stream/0.mjpg")[0] == 404  # the pictures stay on the nodes
        code, _, body = get(port, "/api/sources/1", method="DELETE")
        assert code == 400 and "not supported by the cluster driver" in json.loads(body)["error"]
        done = subprocess.run([sys.executable, "-m", "pipeline.ctl", address, "stop", "--timeout", "10"], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http: http://127.0.0.1:{port}/" in err
    with pytest.raises(OSError):
        get(port, "/healthz", timeout=5)  # the page went with the run
