"""Decode time per frame of each family's Numba decoder, against the Open Model Zoo Python decoders,
and how well each finds people on maps with a trained network's kinds of noise.

Run from the repository root::

    python -m scripts.bench_decode [--frames 50] [--people 1 5 15] [--json FILE]
    python -m scripts.bench_decode --noise [--noise-frames 30] [--crowd-frames 20] [--json FILE]

**Noise table** (``--noise``): for each family and each noise level of
:data:`tests.decode.render.NOISE_LEVELS` (clean; low; medium = heatmap noise σ 0.04, peak heights
±40 %, PAF noise 0.1, tag noise 0.2 of the tag spacing; high), ``--noise-frames`` scenes of 1-15
people, 40-250 px tall, placed close together (:func:`tests.decode.scenes.scene`), are rendered at
the output size of the model's default input and decoded by our decoder (people kept at score
>= 0.1, as the pipeline's default ``-t``) and by the Open Model Zoo decoder as its model wrapper
configures it. Figures: people recall and precision, keypoints within 4 px of the truth (network-
input pixels), and mean decode time per frame (CPU time of the decoding thread: both decoders are
single-threaded, and on a shared host wall time measures the neighbours). The Open Model Zoo decoders come from
``openvino.model_api`` when importable, else from ``openmodelzoo-modelapi`` 2022.3.0 installed in
the cache as :mod:`scripts.omz_demo` does.

**Crowd table** (with ``--noise``; ``--crowd-frames 0`` skips it): the OpenPose decoder, clean and
medium noise, ``--crowd-frames`` scenes of two kinds with hidden joints: *rows*, people of 40-100 px
standing shoulder to shoulder row under row, ~40 a frame, 10 % of joints hidden
(:func:`tests.decode.scenes.rows`); *scattered*, 4-15 people of 40-250 px placed close together
(boxes overlapping up to 30 %), 8 % of joints hidden. Figures: people per frame (truth, decoded),
recall, precision, keypoints within 4 px, as in the noise table. A decoder that mixes neighbours
loses recall and keypoints and decodes more people than there are (the fragments left behind).

Maps are rendered by the test-side encoder (:mod:`tests.decode.render`) at the output size of
each model's default input: openpose 32x57 (human-pose-estimation-0001, 256x456), ae 144x144
(human-pose-estimation-0005, 288x288), higherhrnet 256x256 (higher-hrnet-w32, 512x512), with a
little noise, and for ae/higherhrnet the graph's max-pool-and-negate NMS.

When ``openvino.model_api`` (PyPI ``openvino-model-api==0.1.9``) is importable, its
``OpenPoseDecoder`` and ``AssociativeEmbeddingDecoder`` run on the same maps, fed what the OMZ
model wrappers feed them (OpenPose: the 3x3 max-pool NMS map the wrapper adds to the graph, made
here outside the timing; AE: the NMS-negated heatmaps); the script checks that both find the same
people and prints the speed ratio. Install it in a throwaway environment, not the project's::

    python3 -m venv /tmp/mapi
    /tmp/mapi/bin/pip install openvino-model-api==0.1.9 numba opencv-python-headless
    /tmp/mapi/bin/python -m scripts.bench_decode
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

if __package__ in (None, ""):
    sys.exit("run from the repository root as: python -m scripts.bench_decode")

from stages.decode import ae, heatmap_kernels, higherhrnet, openpose  # noqa: E402
from tests.decode import render  # noqa: E402

from tests.decode import scenes  # noqa: E402

try:  # the Open Model Zoo Python decoders, when their package is installed
    from openvino.model_api.models.hpe_associative_embedding import AssociativeEmbeddingDecoder
    from openvino.model_api.models.open_pose import OpenPoseDecoder
except Exception:  # noqa: BLE001 - absent, or present but broken: numba-only columns
    AssociativeEmbeddingDecoder = OpenPoseDecoder = None


def load_omz_decoders(install: bool = True) -> str | None:
    """Make the OMZ decoders importable: ``openvino.model_api`` if it is, else the demo
    baseline's ``openmodelzoo-modelapi`` from the cache (installed when ``install``). Returns
    where they come from, or None."""
    global AssociativeEmbeddingDecoder, OpenPoseDecoder
    if OpenPoseDecoder is not None:
        return "openvino-model-api"
    from scripts import omz_demo
    try:
        omz_demo.alias_runtime(omz_demo.model_api_dir() if install else _cached_model_api())
        from openvino.model_zoo.model_api.models import hpe_associative_embedding, open_pose
    except Exception as e:  # noqa: BLE001 - no registry, or the wrappers do not load
        print(f"Open Model Zoo decoders unavailable: {e}", file=sys.stderr)
        return None
    AssociativeEmbeddingDecoder = hpe_associative_embedding.AssociativeEmbeddingDecoder
    OpenPoseDecoder = open_pose.OpenPoseDecoder
    return omz_demo.MODELAPI


def _cached_model_api() -> Any:
    from scripts import omz_demo
    from pipeline.models.fetch import cache_dir
    target = cache_dir().parent / "omz-modelapi-2022.3.0"
    if not omz_demo._installed(target):
        raise FileNotFoundError(f"{target} is not installed")
    return target

# family: (map height, map width, stride)
SIZES = {"openpose": (32, 57, 8), "ae": (144, 144, 2), "higherhrnet": (256, 256, 2)}
NOISE_PAF_WIDTH = 1.0  # OpenPose's training fields: limbs one cell wide at stride 8
TAG_SPACING = 1.5
SCORE_THRESHOLD = 0.1  # the pipeline's default -t, and the OMZ wrappers' default


@dataclass
class Row:
    family: str
    people: int
    map_hw: tuple[int, int]
    numba_ms: float
    numba_found: int
    numba_correct: bool
    omz_ms: float | None = None
    omz_found: int | None = None
    same_people: bool | None = None
    speedup: float | None = None


# ---------------------------------------------------------------------------------------------
# Maps
# ---------------------------------------------------------------------------------------------


def make_maps(family: str, n: int, seed: int,
              paf_width: float = 1.5) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Truth poses (n, 17, 3) in map cells and the family's output maps for them."""
    rng = np.random.default_rng(seed)
    h, w, _ = SIZES[family]
    poses = render.crowd(rng, n, h, w)
    if family == "openpose":
        return poses, render.render_openpose(poses, h, w, noise=0.02, paf_width=paf_width,
                                             rng=rng)
    tags = render.spaced_tags(rng, n)
    if family == "ae":
        return poses, render.render_ae(poses, tags, h, w, noise=0.01, tag_jitter=0.1,
                                       nms_negate=True, rng=rng)
    lo, hi, emb_lo = render.render_higherhrnet(poses, tags, h, w, rng=rng)
    up = np.zeros(hi.shape, np.float32)
    emb = np.zeros(hi.shape, np.float32)
    heatmap_kernels.upsample_bilinear(lo, up)
    heatmap_kernels.upsample_bilinear(emb_lo, emb)
    heat = render.maxpool_negate(np.maximum((up + hi) / 2, 0.0)).astype(np.float32)
    return poses, (heat, emb)


# ---------------------------------------------------------------------------------------------
# Decoders
# ---------------------------------------------------------------------------------------------


def numba_decoder(family: str) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return {"openpose": openpose.decode, "ae": ae.decode, "higherhrnet": higherhrnet.decode}[family]


def omz_decoder(family: str) -> Callable[..., np.ndarray] | None:
    """A callable running the OMZ decoder on our maps and returning its poses in map cells."""
    if OpenPoseDecoder is None:
        return None
    if family == "openpose":
        decoder = OpenPoseDecoder(num_joints=18, score_threshold=0.1)

        def run(pafs: np.ndarray, heat: np.ndarray, nms: np.ndarray) -> np.ndarray:
            poses, _ = decoder(heat[None], nms[None], pafs[None])
            return poses
        return run
    decoder = AssociativeEmbeddingDecoder(
        num_joints=17, max_num_people=30, detection_threshold=0.1, use_detection_val=True,
        ignore_too_much=False, tag_threshold=1, pose_threshold=0.1, adjust=True, refine=True,
        delta=0.0, dist_reweight=True)

    def run(heat: np.ndarray, emb: np.ndarray, heat_copy: np.ndarray) -> np.ndarray:
        poses, _ = decoder(heat_copy, emb[None, ..., None], nms_heatmaps=heat[None])
        return poses
    return run


def maxpool3(heat: np.ndarray) -> np.ndarray:
    """OpenPose wrapper's NMS map: heat where it equals its 3x3 max, else 0."""
    padded = np.pad(heat, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    pooled = windows.max(axis=(-2, -1))
    return heat * (heat == pooled)


def omz_args(family: str, maps: tuple[np.ndarray, ...]) -> Callable[[], tuple[np.ndarray, ...]]:
    """Fresh arguments for each OMZ call (its AE decoder overwrites its heatmaps in place)."""
    if family == "openpose":
        pafs, heat = maps
        nms = maxpool3(heat)
        return lambda: (pafs, heat, nms)
    heat, emb = maps
    return lambda: (heat, emb, heat[None].copy())


def omz_to_cells(family: str, poses: np.ndarray) -> np.ndarray:
    """OMZ decoder output (n, 17, 3 or 4: x, y, score[, tag]) in map cells, plus the OpenPose
    decoder's +0.5 delta -> (n, 17, 3) in our map cells."""
    poses = np.asarray(poses, np.float64)
    out = poses.reshape(-1, 17, poses.shape[-1] if poses.size else 3)[..., :3].copy()
    if family == "openpose":
        present = out[..., 2] > 0
        out[..., :2] = np.where(present[..., None], out[..., :2] - 0.5, 0.0)
    return out


# ---------------------------------------------------------------------------------------------
# Timing and comparison
# ---------------------------------------------------------------------------------------------


def time_ms(fn: Callable[..., Any], make_args: Callable[[], tuple],
            frames: int) -> tuple[float, Any]:
    """Median wall time of ``fn(*make_args())`` over ``frames`` calls, in ms, and its last
    result."""
    result = fn(*make_args())  # warm
    times = []
    for _ in range(frames):
        args = make_args()
        t0 = time.perf_counter_ns()
        result = fn(*args)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return statistics.median(times), result


def same_people(a: np.ndarray, b: np.ndarray, tol: float = 1.0) -> bool:
    """Whether two decodes (n, 17, 3) in map cells hold the same people: equal counts, and each
    person of ``a`` has one in ``b`` whose shared keypoints lie within ``tol`` cells (median)."""
    if len(a) != len(b):
        return False
    free = set(range(len(b)))
    for person in a:
        best, best_d = -1, np.inf
        for j in free:
            both = (person[:, 2] > 0) & (b[j, :, 2] > 0)
            if both.any():
                d = float(np.median(np.hypot(*(person[both, :2] - b[j, both, :2]).T)))
                if d < best_d:
                    best, best_d = j, d
        if best < 0 or best_d > tol:
            return False
        free.remove(best)
    return True


def bench(family: str, n: int, frames: int, seed: int, paf_width: float) -> Row:
    h, w, stride = SIZES[family]
    truth, maps = make_maps(family, n, seed, paf_width)
    ms, (kpts, _) = time_ms(numba_decoder(family), lambda: maps, frames)
    ours = render.to_cells(kpts, stride)
    row = Row(family, n, (h, w), round(ms, 4), len(ours), not render.match_poses(ours, truth))
    run = omz_decoder(family)
    if run is not None:
        omz_ms, poses = time_ms(run, omz_args(family, maps), frames)
        theirs = omz_to_cells(family, poses)
        row.omz_ms = round(omz_ms, 4)
        row.omz_found = len(theirs)
        row.same_people = same_people(ours, theirs)
        row.speedup = round(omz_ms / ms, 1) if ms > 0 else None
    return row


# ---------------------------------------------------------------------------------------------
# Noise table
# ---------------------------------------------------------------------------------------------


@dataclass
class NoiseRow:
    family: str
    level: str
    decoder: str  # "ours" or "omz"
    frames: int
    people: int
    recall: float
    precision: float
    keypoints_4px: float
    ms_per_frame: float


def noisy_maps(family: str, truth_px: np.ndarray, level: render.Noise,
               rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The family's output maps (batch axis removed) for poses in network-input pixels: OpenPose
    (pafs, heatmaps); AE and HigherHRNet (NMS-negated heatmaps, tags) at the 1/2-resolution map,
    HigherHRNet's made as its OMZ graph makes them (low-resolution maps upsampled and averaged)."""
    h, w, stride = SIZES[family]
    poses = scenes.to_cells(truth_px, stride)
    if family == "openpose":
        return render.render_openpose(poses, h, w, paf_width=NOISE_PAF_WIDTH, level=level, rng=rng)
    tags = render.spaced_tags(rng, len(poses), TAG_SPACING)
    if family == "ae":
        return render.render_ae(poses, tags, h, w, level=level, tag_spacing=TAG_SPACING,
                                nms_negate=True, rng=rng)
    lo, hi, emb_lo = render.render_higherhrnet(poses, tags, h, w, level=level,
                                               tag_spacing=TAG_SPACING, rng=rng)
    up = np.zeros(hi.shape, np.float32)
    emb = np.zeros(hi.shape, np.float32)
    heatmap_kernels.upsample_bilinear(lo, up)
    heatmap_kernels.upsample_bilinear(emb_lo, emb)
    heat = render.maxpool_negate(np.maximum((up + hi) / 2, 0.0)).astype(np.float32)
    return heat, emb


def ours_in_pixels(family: str, maps: tuple[np.ndarray, ...]) -> np.ndarray:
    """Our decoder on ``maps``: people scoring >= the pipeline's default -t, input pixels."""
    stride = SIZES[family][2]
    kpts, scores = numba_decoder(family)(*maps, stride=stride)
    return kpts[scores >= SCORE_THRESHOLD].astype(np.float64)


def omz_in_pixels(family: str) -> Callable[[tuple[np.ndarray, ...]], np.ndarray] | None:
    """The OMZ decoder as its wrapper runs it, returning people in input pixels as the wrapper
    scales them (``* stride``; the OpenPose decoder has already added its half-cell delta)."""
    run = omz_decoder(family)
    if run is None:
        return None
    stride = SIZES[family][2]

    def decode(maps: tuple[np.ndarray, ...]) -> np.ndarray:
        poses = np.asarray(run(*omz_args(family, maps)()), np.float64)
        out = poses.reshape(-1, 17, poses.shape[-1] if poses.size else 3)[..., :3].copy()
        out[..., :2] *= stride
        out[out[..., 2] <= 0] = 0.0
        return out
    return decode


def noise_bench(families: list[str], levels: list[str], frames: int, seed: int = 0,
                max_people: int = 15) -> list[NoiseRow]:
    """The noise table's rows: per family and level, ours then (when available) the OMZ decoder
    on the same ``frames`` scenes (people 1..max_people in turn)."""
    rows = []
    for family in families:
        h, w, stride = SIZES[family]
        decoders: list[tuple[str, Callable[[tuple[np.ndarray, ...]], np.ndarray]]] = [
            ("ours", lambda maps, f=family: ours_in_pixels(f, maps))]
        theirs = omz_in_pixels(family)
        if theirs is not None:
            decoders.append(("omz", theirs))
        for level in levels:
            cases = []
            for i in range(frames):
                rng = np.random.default_rng([seed, i])
                truth = scenes.scene(rng, 1 + i % max_people, h * stride, w * stride)
                cases.append((truth, noisy_maps(family, truth, render.NOISE_LEVELS[level], rng)))
            for name, decode in decoders:
                decode(cases[0][1])  # warm
                tally = scenes.Tally()
                total_ns = 0
                for truth, maps in cases:
                    t0 = time.thread_time_ns()  # CPU time: the host is shared, wall time is not ours
                    got = decode(maps)
                    total_ns += time.thread_time_ns() - t0
                    tally.add(scenes.evaluate(got, truth))
                rows.append(NoiseRow(family, level, name, frames, tally.truth,
                                     round(tally.recall, 4), round(tally.precision, 4),
                                     round(tally.keypoints_within, 4),
                                     round(total_ns / frames / 1e6, 3)))
    return rows


def noise_markdown(rows: list[NoiseRow]) -> str:
    """The noise table as Markdown: one line per family and level, ours beside the OMZ decoder."""
    by_key = {(r.family, r.level, r.decoder): r for r in rows}
    lines = ["| family | noise | people | recall | OMZ | precision | OMZ | keypoints within 4 px "
             "| OMZ | decode ms/frame | OMZ |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.decoder != "ours":
            continue
        o = by_key.get((r.family, r.level, "omz"))

        def pair(attr: str, spec: str) -> str:
            return (f"{format(getattr(r, attr), spec)} | "
                    f"{format(getattr(o, attr), spec) if o else '–'}")
        lines.append(f"| {r.family} | {r.level} | {r.people} | {pair('recall', '.3f')} "
                     f"| {pair('precision', '.3f')} | {pair('keypoints_4px', '.3f')} "
                     f"| {pair('ms_per_frame', '.2f')} |")
    return "\n".join(lines)



@dataclass
class CrowdRow:
    family: str
    scene: str  # "rows" or "scattered"
    level: str
    frames: int
    truth_per_frame: float
    decoded_per_frame: float
    recall: float
    precision: float
    keypoints_4px: float


CROWD_HIDDEN = {"rows": 0.10, "scattered": 0.08}
# The crowd table is the OpenPose decoder's: its greedy limb assembly is what mixes neighbours
# (the AE decoders group by tags, and keep at most 30 people, fewer than the rows hold at 512x512).
CROWD_FAMILIES = ("openpose",)


def crowd_scene(kind: str, rng: np.random.Generator, net_h: int, net_w: int) -> np.ndarray:
    """One crowd of ``kind`` (see the module docstring), joints hidden, in input pixels."""
    if kind == "rows":
        return scenes.rows(rng, net_h, net_w, hidden=CROWD_HIDDEN[kind])
    truth = scenes.scene(rng, int(rng.integers(4, 16)), net_h, net_w)
    truth[..., 2][rng.random(truth.shape[:2]) < CROWD_HIDDEN[kind]] = 0.0
    return truth


def crowd_bench(families: list[str], levels: list[str], frames: int,
                seed: int = 0) -> list[CrowdRow]:
    """The crowd table's rows: our decoder per family, scene kind and noise level."""
    rows = []
    for family in families:
        h, w, stride = SIZES[family]
        for kind in CROWD_HIDDEN:
            for level in levels:
                tally, decoded = scenes.Tally(), 0
                for i in range(frames):
                    rng = np.random.default_rng([seed, 7, i])
                    truth = crowd_scene(kind, rng, h * stride, w * stride)
                    got = ours_in_pixels(family, noisy_maps(family, truth,
                                                            render.NOISE_LEVELS[level], rng))
                    decoded += len(got)
                    tally.add(scenes.evaluate(got, truth))
                rows.append(CrowdRow(family, kind, level, frames, round(tally.truth / frames, 2),
                                     round(decoded / frames, 2), round(tally.recall, 4),
                                     round(tally.precision, 4), round(tally.keypoints_within, 4)))
    return rows


def crowd_markdown(rows: list[CrowdRow]) -> str:
    """The crowd table as Markdown."""
    lines = [("| family | crowd | noise | people per frame | decoded per frame | recall "
              "| precision | keypoints within 4 px |"), "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.family} | {r.scene} | {r.level} | {r.truth_per_frame:.1f} "
                     f"| {r.decoded_per_frame:.1f} | {r.recall:.3f} | {r.precision:.3f} "
                     f"| {r.keypoints_4px:.3f} |")
    return "\n".join(lines)

def print_table(rows: list[Row]) -> None:
    head = f"{'family':<12}{'people':>7}{'map':>10}{'numba ms':>10}{'found':>7}{'right':>7}"
    if any(r.omz_ms is not None for r in rows):
        head += f"{'omz ms':>10}{'found':>7}{'same':>6}{'x faster':>10}"
    print(head)
    for r in rows:
        line = (f"{r.family:<12}{r.people:>7}{'%dx%d' % r.map_hw:>10}{r.numba_ms:>10.3f}"
                f"{r.numba_found:>7}{'yes' if r.numba_correct else 'NO':>7}")
        if r.omz_ms is not None:
            line += (f"{r.omz_ms:>10.3f}{r.omz_found:>7}{'yes' if r.same_people else 'no':>6}"
                     f"{r.speedup:>10.1f}")
        print(line)
    if OpenPoseDecoder is None:
        print("(openvino.model_api not importable: Open Model Zoo columns skipped)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=50, help="timed calls per case (median)")
    parser.add_argument("--people", type=int, nargs="+", default=[1, 5, 15])
    parser.add_argument("--families", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paf-width", type=float, default=1.5,
                        help="half-width of the rendered OpenPose limb fields, in cells (the OMZ "
                             "decoder samples the field half a cell off, so it fragments people "
                             "on fields narrower than about 1.5)")
    parser.add_argument("--noise", action="store_true",
                        help="the noise table instead of the speed table")
    parser.add_argument("--noise-frames", type=int, default=30, help="scenes per family and level")
    parser.add_argument("--crowd-frames", type=int, default=20,
                        help="with --noise: scenes per family, crowd kind and level of the crowd "
                             "table (0: skip it)")
    parser.add_argument("--levels", nargs="+", default=list(render.NOISE_LEVELS),
                        choices=list(render.NOISE_LEVELS))
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.noise_frames < 1 or args.crowd_frames < 0:
        parser.error("--frames and --noise-frames must be at least 1, --crowd-frames at least 0")

    t0 = time.perf_counter()
    for module in (openpose, ae, higherhrnet):
        module.warmup()
    print(f"warmup (compile or load the Numba cache): {time.perf_counter() - t0:.2f} s")
    if args.noise:
        source = load_omz_decoders()
        noise_rows = noise_bench(args.families, args.levels, args.noise_frames, args.seed)
        print(noise_markdown(noise_rows))
        print(f"(Open Model Zoo decoders: {source or 'unavailable'})")
        crowd_rows = []
        if args.crowd_frames > 0:
            crowd_rows = crowd_bench([f for f in args.families if f in CROWD_FAMILIES],
                                     [lv for lv in ("clean", "medium") if lv in args.levels],
                                     args.crowd_frames, args.seed)
            print()
            print(crowd_markdown(crowd_rows))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"omz": source, "rows": [asdict(r) for r in noise_rows],
                           "crowd": [asdict(r) for r in crowd_rows]}, f, indent=2)
        return 0
    rows = [bench(family, n, args.frames, args.seed + n, args.paf_width)
            for family in args.families for n in args.people]
    print_table(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"omz_available": OpenPoseDecoder is not None,
                       "rows": [asdict(r) for r in rows]}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
