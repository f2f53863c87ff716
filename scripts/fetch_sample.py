#!/usr/bin/env python3
"""Fetch the sample clip: vtest.avi (6 people walking) from Debian's ``opencv-doc`` package.

Downloads the .deb with ``apt-get download`` (no install), extracts only the clip, checks its
SHA-256 and writes it to ``media/vtest.avi`` (or ``--out``). Runs ``apt-get update`` first if the
package lists are empty.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pipeline.models.fetch import sha256_file  # noqa: E402

MEMBER = "./usr/share/doc/opencv-doc/examples/data/vtest.avi"
SHA256 = "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"


def sha256(path: str) -> str:
    return sha256_file(Path(path))


def download_deb(workdir: str) -> str:
    for attempt in range(2):
        done = subprocess.run(["apt-get", "download", "opencv-doc"], cwd=workdir, capture_output=True, text=True)
        debs = [f for f in os.listdir(workdir) if f.endswith(".deb")]
        if done.returncode == 0 and debs:
            return os.path.join(workdir, debs[0])
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
    last = (done.stderr or done.stdout).strip().splitlines()
    raise SystemExit(f"error: cannot download opencv-doc: {last[-1] if last else 'apt-get failed'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "media", "vtest.avi"))
    out = os.path.abspath(parser.parse_args().out)
    if os.path.isfile(out) and sha256(out) == SHA256:
        print(out)
        return 0
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise SystemExit("error: fetching the sample needs Debian's apt-get and dpkg-deb")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="posepipe-sample-") as tmp:
        os.chmod(tmp, 0o755)  # apt's sandbox user must be able to write here
        deb = download_deb(tmp)
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", tmp, MEMBER], stdin=tar.stdout, check=True)
        tar.wait()
        clip = os.path.join(tmp, MEMBER)
        if sha256(clip) != SHA256:
            raise SystemExit("error: vtest.avi from opencv-doc has an unexpected checksum")
        shutil.move(clip, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
