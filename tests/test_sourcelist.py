"""What -i names, how sources are spread over capture processes, and where each one's output goes."""

from __future__ import annotations

import pytest

from pipeline.errors import InputError, UsageError
from pipeline.outputs import output_for
from pipeline.sources import SourceInfo, SourceSpec, capture_workers, expand_inputs, is_stream_url
from pipeline.sources.inputs import read_streams_file
from pipeline.sources.table import assign

VIDEO = SourceInfo("video", 480, 640, 480 * 640 * 3, 25.0, 100)
FOLDER = SourceInfo("folder", 480, 640, 480 * 640 * 3, 0.0, 3, files=("a.jpg", "b.jpg", "c.jpg"))


def test_streams_file_lists_one_source_per_line_with_comments(tmp_path):
    listing = tmp_path / "cams.streams"
    listing.write_text("# entrance\nrtsp://127.0.0.1:8554/a\n\n  clip.mp4   # a file\n0\n")
    assert read_streams_file(str(listing)) == ["rtsp://127.0.0.1:8554/a", "clip.mp4", "0"]
    # a relative path in a list is taken from the list's folder, as a playlist's is
    assert expand_inputs(["x.avi", str(listing), "y/"]) == ["x.avi", "rtsp://127.0.0.1:8554/a",
                                                            str(tmp_path / "clip.mp4"), "0", "y/"]
    listing.write_text(f"/abs/clip.mp4\n{tmp_path}/b.gif\n")
    assert expand_inputs([str(listing)]) == ["/abs/clip.mp4", f"{tmp_path}/b.gif"]


def test_empty_streams_file_is_an_error(tmp_path):
    listing = tmp_path / "none.streams"
    listing.write_text("# nothing here\n\n")
    with pytest.raises(InputError, match="names no source"):
        expand_inputs([str(listing)])


def test_stream_urls_are_told_from_files():
    assert is_stream_url("rtsp://127.0.0.1:8554/cam")
    assert is_stream_url("https://example.invalid/live.m3u8")
    assert not is_stream_url("clip.mp4")
    assert not is_stream_url("0")
    assert not is_stream_url("rtsp://")


def test_sources_are_spread_round_robin_and_workers_follow_cores():
    assert assign([0, 1, 2, 3, 4], 2) == {0: [0, 2, 4], 1: [1, 3]}
    assert capture_workers(0, 1, cores=8) == 1  # never more processes than sources
    assert capture_workers(0, 16, cores=8) == 4
    assert capture_workers(0, 16, cores=2) == 1
    assert capture_workers(3, 2, cores=2) == 2


def test_output_per_source():
    assert output_for("out.mp4", 0, 1, VIDEO) == "out.mp4"
    assert output_for("out_{source}.avi", 3, 5, VIDEO) == "out_3.avi"
    assert output_for("outdir", 2, 4, VIDEO) == "outdir/source2.mp4"
    assert output_for("outdir", 1, 4, FOLDER) == "outdir/source1"
    with pytest.raises(UsageError, match="{source}"):
        output_for("out.mp4", 1, 2, VIDEO)


def test_spec_survives_the_wire_format():
    spec = SourceSpec(4, "photos/", FOLDER)
    assert SourceSpec.from_dict(spec.to_dict()) == spec
