"""The control socket under attack: bad messages are answered with an error and the run goes on;
tcp:// needs CurveZMQ keys and binds loopback by default; an address in use is refused without
harming the run that holds it; bad addresses get one line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest
import zmq

from pipeline.ctl.keys import create_keys
from tests.helpers import ROOT, Running, make_clip, movenet_model, run_pipeline, tagged_processes


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("ctl") / "clip.avi", frames=12)


def looping(tmp_path, clip, **kw) -> Running:
    return Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show", **kw)


def raw_request(address: str, parts: list[bytes], curve_keys: str | None = None) -> list[bytes] | None:
    ctx = zmq.Context()
    try:
        sock = ctx.socket(zmq.REQ)
        sock.linger = 0
        sock.rcvtimeo = 5000
        sock.sndtimeo = 5000
        if curve_keys:
            from pipeline.ctl.keys import apply_client
            apply_client(sock, curve_keys)
        sock.connect(address)
        sock.send_multipart(parts)
        try:
            return sock.recv_multipart()
        except zmq.Again:
            return None
    finally:
        ctx.destroy(linger=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(run: Running, **kw) -> tuple[int, str, str]:
    done = run.ctl("stop", timeout=10, **kw)
    assert done.returncode == 0, done.stderr
    return run.finish()


def test_malformed_requests_are_answered_and_the_run_goes_on(clip, tmp_path):
    from pipeline import messages as m
    run = looping(tmp_path, clip)
    run.wait_frames(3)
    for parts in ([b"PP\x01\x0c", b"[]"], [b"PP\x01\x0c", b'{"command": 7}'], [b"junk"],
                  [b"PP\x01\x0c", b'{"command": "mode", "arg": "fast"}'], [b"PP\x01\x04", b'{"upto": 1}'],
                  [b"PP\x01\x0c", b"[" * 50000]):
        reply = raw_request(run.address, parts)
        assert reply is not None, parts
        answer = m.decode(reply)
        assert isinstance(answer, m.ControlReply) and not answer.ok and answer.error
    assert run.status()["frames"] >= 3  # still running
    code, out, err = stop(run)
    assert code == 0, err
    assert "Traceback" not in err


def test_tcp_control_needs_keys(clip, tmp_path):
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "--control", f"tcp://:{free_port()}", env={"POSEPIPE_KEYS": str(tmp_path / "none")})
    assert res.code == 2
    assert [ln for ln in res.stderr.splitlines() if ln.startswith("error:")] == [ln for ln in res.stderr.splitlines()
                                                                                 if "CurveZMQ" in ln]
    assert "pipeline.ctlkeys" in res.stderr and "Traceback" not in res.stderr
    assert not tagged_processes(res.tag)


def test_tcp_control_with_keys_binds_loopback_and_refuses_strangers(clip, tmp_path):
    keys = tmp_path / "keys"
    done = subprocess.run([sys.executable, "-m", "pipeline.ctlkeys", "--dir", str(keys)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (os.stat(keys / "server.key_secret").st_mode & 0o077) == 0
    port = free_port()
    env = {"POSEPIPE_KEYS": str(keys)}
    run = looping(tmp_path, clip, address=f"tcp://:{port}", env=env)
    run.address = f"tcp://127.0.0.1:{port}"
    state = None
    for _ in range(200):
        done = run.ctl("status", env=env)
        if done.returncode == 0:
            state = done.stdout
            break
        assert run.proc.poll() is None, run.proc.communicate()
    assert state and '"mode"' in state
    with open("/proc/net/tcp") as f:
        listening = [ln.split() for ln in f.readlines()[1:]]
    ours = [row for row in listening if row[1].endswith(f":{port:04X}") and row[3] == "0A"]
    assert ours and all(row[1].startswith("0100007F") for row in ours)  # 127.0.0.1 only
    # no keys, or keys the controller never authorised: no answer at all
    assert raw_request(run.address, [b"PP\x01\x0c", b'{"command": "stop"}']) is None
    stranger = tmp_path / "stranger"
    create_keys(str(stranger))
    shutil.copy(keys / "server.key", stranger / "server.key")  # knows the server, not authorised
    assert raw_request(run.address, [b"PP\x01\x0c", b'{"command": "stop"}'], str(stranger)) is None
    code, out, err = stop(run, env=env)
    assert code == 0, err


def test_a_second_run_on_an_address_in_use_fails_and_leaves_the_first_alone(clip, tmp_path):
    first = looping(tmp_path, clip)
    first.wait_frames(2)
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--control", first.address)
    assert res.code == 2
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "already in use" in errors[0], res.stderr
    assert os.path.exists(first.address[len("ipc://"):])
    assert first.status()["frames"] >= 2  # still reachable
    code, out, err = stop(first)
    assert code == 0, err


def test_a_stale_socket_file_is_reused(clip, tmp_path):
    path = tmp_path / "stale"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()  # the file stays, nobody listens
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--control",
                       f"ipc://{path}", "--max-frames", "2")
    assert res.code == 0, res.stderr
    assert not path.exists()


@pytest.mark.parametrize("address, words", [
    ("foo", "expected ipc://PATH or tcp://HOST:PORT"),
    ("tcp://127.0.0.1:99999", "port number"),
    ("ipc:///nonexistent/folder/ctl", "does not exist"),
    ("ipc:///tmp/" + "x" * 120, "longer than"),
    ("PORT_IN_USE", "already in use"),
    ("FILE", "not a socket"),
])
def test_bad_control_addresses_get_one_line(address, words, clip, tmp_path):
    holder = None
    if address == "PORT_IN_USE":
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        address = f"tcp://127.0.0.1:{holder.getsockname()[1]}"
        keys = tmp_path / "keys"
        create_keys(str(keys))
        env = {"POSEPIPE_KEYS": str(keys)}
    else:
        env = {}
    if address == "FILE":
        (tmp_path / "f").write_text("keep me")
        address = f"ipc://{tmp_path / 'f'}"
    try:
        res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--control", address,
                           env=env)
    finally:
        if holder:
            holder.close()
    assert res.code == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and words in errors[0], res.stderr
    assert "Traceback" not in res.stderr
    assert not tagged_processes(res.tag)
    if "f" in os.listdir(tmp_path):
        assert (tmp_path / "f").read_text() == "keep me"
