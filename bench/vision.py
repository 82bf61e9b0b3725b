"""Vision figures: read rates on ../shared/data, latency per frame and per passage,
the text-detection options side by side, and numba against OpenCV for motion.

    .venv/bin/python -m bench vision        (or: make bench)

Writes the `## Vision` section of BENCHMARKS.md. Reads only image files for the
reads; labels are used by the scorer (vision.evaluate) afterwards.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from bench.report import write_section

if TYPE_CHECKING:
    from vision.reader import Frame

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CORRIDOR_SHARED_DATA", REPO.parent / "shared" / "data"))
PLATE_SETS = {"us": "us", "eu": "eu", "br": "br", "us_crops": "us"}
COMMAND = ".venv/bin/python -m bench vision"
PLATE_HEADER = (
    "| text detection, regions | set | images | exact % | O/0 folded % | extra reads "
    "| settled by rows / boxes / ocr | median ms/frame | mean ms/frame |"
    "\n|---|---|---|---|---|---|---|---|---|"
)
PASSAGE_HEADER = (
    "| option | passages x reads | first passage of a fresh lane, ms "
    "| mean ms per passage after it | mean CPU ms per passage after it |\n|---|---|---|---|---|"
)
CONTAINER_HEADER = (
    "| option | frames | frame read % | frame wrong accepts | passages | passage read % "
    "| passage wrong accepts | views settled in code boxes / whole | ms/frame | ms/passage |"
    "\n|---|---|---|---|---|---|---|---|---|---|"
)


def lane_vision(**config: Any) -> Any:
    from vision.config import VisionConfig
    from vision.reader import LaneVision

    return LaneVision(VisionConfig(**config))


def runtime_label(runtime: str = "auto", precision: str = "f32") -> str:
    """What a reader's models run on with these settings here, e.g. `openvino (bf16)`:
    asked of the region detector's model, small and loaded in a moment (the OCR
    models are compiled alike)."""
    from vision.detector import DEFAULT_MODEL
    from vision.runtime import load

    session = load(DEFAULT_MODEL, runtime, precision)  # type: ignore[arg-type]
    return f"{session.runtime} ({session.precision})"


def timed_ms(fn: Callable[[], object], repeat: int) -> list[float]:
    return [wall for wall, _ in timed_wall_cpu_ms(fn, repeat)]


def fresh(frames: list[Frame]) -> list[Frame]:
    """Copies of `frames` for one timed read: a reader keeps the region detector's
    answer for the last image it was given (the same object), and a camera never
    gives the same object twice (≈ 0.1 ms per 800x600 copy, inside the timing)."""
    return [replace(frame, image=frame.image.copy()) for frame in frames]


def timed_wall_cpu_ms(fn: Callable[[], object], repeat: int) -> list[tuple[float, float]]:
    """Wall-clock and CPU time (all threads of this process) per call, in ms.

    On a shared machine the wall clock includes waiting for a core; CPU time is
    the work itself, the better guide to what an unloaded gate box would take.
    """
    fn()  # warm-up: first call allocates
    out = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        out.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
    return out


def plate_rows(options: dict[str, dict[str, Any]]) -> list[str]:
    from vision.evaluate import evaluate

    rows = []
    for label, config in options.items():
        for folder, region in PLATE_SETS.items():
            path = SHARED_DATA / f"plates_openalpr_{folder}"
            if not path.exists():
                continue
            cfg = {"read_containers": False, **config}
            if cfg.pop("site_region", False):
                cfg["regions"] = [region]
            vision = lane_vision(**cfg)
            tally = evaluate(path, vision)
            figures = tally.figures()
            ms = tally.frame_ms or [0.0]
            rows.append(
                f"| {label} | {folder} | {figures['items']} | {figures['read_rate_pct']} "
                f"| {figures['read_rate_o0_folded_pct']} | {figures['extra_reads']} "
                f"| {fallbacks(vision)} | {statistics.median(ms):.0f} "
                f"| {figures['mean_ms_per_frame']:.0f} |"
            )
            print(rows[-1], flush=True)
    return rows


def fallbacks(vision: Any) -> str:
    """`classic`: frames settled by a character row / by text detection in the detector's
    plate boxes / by text detection over the whole frame (the fallback)."""
    if vision.config.detector != "classic":
        return "-"
    stats = vision.stats
    return f"{stats['classic_rows']} / {stats['classic_boxes']} / {stats['classic_fallbacks']}"


def container_rows(options: dict[str, dict[str, Any]]) -> list[str]:
    from vision.evaluate import evaluate

    path = SHARED_DATA / "containers_marsa"
    rows = []
    if not path.exists():
        return rows
    for label, config in options.items():
        vision = lane_vision(**config)
        f = evaluate(path, vision).figures()
        boxed = "-"
        if vision.codes_first:
            boxed = f"{vision.stats['code_boxes']} / {vision.stats['code_fallbacks']}"
        rows.append(
            f"| {label} | {f['items']} | {f['read_rate_pct']} | {f['wrong_accepts_frames']} "
            f"| {f.get('passages', 0)} | {f.get('passage_read_rate_pct', '-')} "
            f"| {f.get('passage_wrong_accepts', '-')} | {boxed} | {f['mean_ms_per_frame']} "
            f"| {f.get('mean_ms_per_passage', '-')} |"
        )
        del vision  # its models and runtime threads go before the next lane is timed
        print(rows[-1], flush=True)
    return rows


def latency_frames() -> list[np.ndarray]:
    """The first 6 US, EU and BR photos scaled to 800x600, and 3 rendered scenes."""
    from vision.synth import render_plate_scene

    frames: list[np.ndarray] = []
    for folder in ("us", "eu", "br"):
        for path in sorted((SHARED_DATA / f"plates_openalpr_{folder}").glob("*.jpg"))[:6]:
            image = cv2.imread(str(path))
            if image is not None:
                frames.append(cv2.resize(image, (800, 600)))
    rng = np.random.default_rng(1234)
    frames += [cv2.resize(render_plate_scene(rng).image, (800, 600)) for _ in range(3)]
    return frames


def zoomed(image: np.ndarray, zoom: float) -> np.ndarray:
    """The middle 1/zoom of `image`, scaled back to its size: the frame a fixed camera
    takes of a vehicle that has come closer."""
    h, w = image.shape[:2]
    ch, cw = round(h / zoom), round(w / zoom)
    y, x = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(image[y : y + ch, x : x + cw], (w, h))


def plate_bursts(kind: str) -> list[list[Frame]]:
    """Each latency frame as a burst of three frames of one vehicle: `standing` (at the
    barrier: as shipped, re-encoded at JPEG q80, cut 3 %) or `approaching` (the frame,
    then its middle zoomed 1.1 and 1.25 times)."""
    from vision.evaluate import CHANGES
    from vision.reader import Frame

    if kind == "standing":
        changes = [CHANGES[name] for name in ("as shipped", "JPEG q80", "cut 3 %")]
    else:
        changes = [lambda f, z=z: zoomed(f, z) for z in (1.0, 1.1, 1.25)]
    return [[Frame(change(f), "front") for change in changes] for f in latency_frames()]


def plate_burst_rows(options: dict[str, dict[str, Any]], kind: str) -> list[str]:
    """Per frame of a plate lane's burst (`plate_bursts`), read by `read_burst` as the
    lane reads them (`view_workers` frames at once)."""
    bursts = plate_bursts(kind)
    rows = []
    for label, config in options.items():
        vision = lane_vision(**config, read_containers=False)
        both = [
            m
            for b in bursts
            for m in timed_wall_cpu_ms(lambda b=b, v=vision: v.read_burst(fresh(b)), 2)
        ]
        per_frame = [w / len(bursts[0]) for w, _ in both]
        rows.append(
            f"| {label} | {kind} | {len(bursts)} x {len(bursts[0])} "
            f"| {statistics.median(per_frame):.0f} | {statistics.mean(per_frame):.0f} "
            f"| {statistics.mean(c for _, c in both) / len(bursts[0]):.0f} |"
        )
        print(rows[-1], flush=True)
    return rows


def plate_latency_rows(options: dict[str, dict[str, Any]]) -> list[str]:
    """Per 800x600 frame: the first 6 US, EU and BR photos scaled to 800x600, and 3
    rendered scenes (800x600 too)."""
    frames = latency_frames()
    rows = []
    for label, config in options.items():
        vision = lane_vision(**config, read_containers=False)
        both = [  # a copy each time: see `fresh`
            m
            for f in frames
            for m in timed_wall_cpu_ms(lambda f=f, v=vision: v.read_frame(f.copy()), 2)
        ]
        ms, cpu = [w for w, _ in both], [c for _, c in both]
        rows.append(
            f"| {label} | {len(frames)} | {statistics.median(ms):.0f} | {statistics.mean(ms):.0f} "
            f"| {max(ms):.0f} | {statistics.median(cpu):.0f} | {fallbacks(vision)} |"
        )
        print(rows[-1], flush=True)
    return rows


def passage_latency_rows(options: dict[str, dict[str, Any]]) -> list[str]:
    """`read_burst` over the five views of each truck (groups from labels_detail.csv)."""
    from vision.evaluate import capture_groups
    from vision.reader import Frame, load_image

    folder = SHARED_DATA / "containers_marsa"
    groups: dict[str, list[str]] = {}
    for name, group in capture_groups(folder).items():
        groups.setdefault(group, []).append(name)
    passages = [
        [Frame(load_image(folder / n), n) for n in sorted(names)] for names in groups.values()
    ]
    rows = []
    for label, config in options.items():
        vision = lane_vision(**config)
        # The trucks in turn, twice: the first passage of a fresh lane also compiles
        # the models for the cameras' frame size (once per start of a gate box).
        both = [
            m
            for p in passages + passages
            for m in timed_wall_cpu_ms(lambda p=p, v=vision: v.read_burst(fresh(p)), 1)
        ]
        after = both[1:]
        rows.append(
            f"| {label} | {len(passages)} x 2 | {both[0][0]:.0f} "
            f"| {statistics.mean(w for w, _ in after):.0f} "
            f"| {statistics.mean(c for _, c in after):.0f} |"
        )
        del vision  # its models and runtime threads go before the next lane is timed
        print(rows[-1], flush=True)
    return rows


def synthetic_rows(options: dict[str, dict[str, Any]]) -> list[str]:
    """Held-out rendered scenes (seeds the training set never used)."""
    from vision.synth import render_container_scene, render_plate_scene

    rows = []
    for label, config in options.items():
        vision = lane_vision(**config)
        plate_hits = code_hits = wrong = 0
        n = 20
        for i in range(n):
            rng = np.random.default_rng(10_000 + i)
            scene = render_plate_scene(rng)
            plate_hits += scene.objects[0].text in [
                p.text for p in vision.read_frame(scene.image).plates
            ]
            scene = render_container_scene(rng)
            codes = [c.code for c in vision.read_frame(scene.image).containers]
            code_hits += scene.objects[0].text in codes
            wrong += len([c for c in codes if c != scene.objects[0].text])
        rows.append(
            f"| {label} | {n} | {100 * plate_hits / n:.0f} | {100 * code_hits / n:.0f} | {wrong} |"
        )
        print(rows[-1], flush=True)
    return rows


def iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def detector_rows() -> list[str]:
    """The YOLO region detector alone on real photos, against the evaluator's boxes."""
    import csv

    from vision.detector import RegionDetector

    detector = RegionDetector()
    rows = []
    for folder in ("br", "eu", "us"):
        path = SHARED_DATA / f"plates_openalpr_{folder}"
        if not (path / "boxes.csv").exists():
            continue
        hits, ms = 0, []
        with (path / "boxes.csv").open(newline="") as f:
            labelled = list(csv.DictReader(f))
        for row in labelled:
            image = cv2.imread(str(path / row["file"]))
            x, y, w, h = (int(float(row[k])) for k in ("x", "y", "w", "h"))
            started = time.perf_counter()
            regions = detector.detect(image)
            ms.append((time.perf_counter() - started) * 1000)
            best = max(
                (iou(r.box, (x, y, x + w, y + h)) for r in regions if r.kind == "plate"), default=0
            )
            hits += best > 0.3
        rows.append(
            f"| plates_openalpr_{folder} | plate | {hits}/{len(labelled)} "
            f"| {statistics.median(ms):.0f} |"
        )
        print(rows[-1], flush=True)
    path = SHARED_DATA / "containers_marsa" / "labels_detail.csv"
    if path.exists():
        with path.open(newline="") as f:
            labelled = list(csv.DictReader(f))
        hits, ms = 0, []
        for row in labelled:
            image = cv2.imread(str(path.parent / row["file"]))
            truth = [tuple(map(int, b.split())) for b in row["code_boxes_x1y1x2y2"].split(";")]
            started = time.perf_counter()
            regions = detector.detect(image)
            ms.append((time.perf_counter() - started) * 1000)
            best = max(
                (iou(r.box, t) for r in regions if r.kind == "container_code" for t in truth),
                default=0,
            )
            hits += best > 0.2
        rows.append(
            f"| containers_marsa | container_code | {hits}/{len(labelled)} "
            f"| {statistics.median(ms):.0f} |"
        )
        print(rows[-1], flush=True)
    return rows


def motion_rows() -> list[str]:
    """Frame differencing: OpenCV kernels against a numba kernel, same answer."""
    import numba

    from drivers.camera.motion import changed_fraction

    @numba.njit(cache=False, fastmath=True)
    def changed_fraction_numba(a: np.ndarray, b: np.ndarray, threshold: int) -> float:
        count = 0
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                # np.int32, not int(): numba keeps int() of a uint8 unsigned (wraps)
                d = np.int32(a[i, j]) - np.int32(b[i, j])
                if d > threshold or d < -threshold:
                    count += 1
        return count / a.size

    rng = np.random.default_rng(0)
    rows = []
    for h, w in ((120, 160), (810, 1440)):
        a = rng.integers(0, 255, (h, w), np.uint8)
        b = rng.integers(0, 255, (h, w), np.uint8)
        assert abs(changed_fraction(a, b, 25) - changed_fraction_numba(a, b, 25)) < 1e-9
        cv_ms = timed_ms(lambda a=a, b=b: changed_fraction(a, b, 25), 50)
        nb_ms = timed_ms(lambda a=a, b=b: changed_fraction_numba(a, b, 25), 50)
        np_ms = timed_ms(
            lambda a=a, b=b: np.count_nonzero(np.abs(a.astype(np.int16) - b) > 25) / a.size, 50
        )
        rows.append(
            f"| {w}x{h} | {statistics.median(cv_ms):.3f} | {statistics.median(nb_ms):.3f} "
            f"| {statistics.median(np_ms):.3f} |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from vision.detector import DEFAULT_MODEL

    have_yolo = DEFAULT_MODEL.exists()
    load_at_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    default_runtime = runtime_label()
    fastest_runtime = runtime_label(precision="auto")
    plate_options: dict[str, dict[str, Any]] = {
        "ocr, all regions": {"detector": "ocr"},
        "classic, all regions": {"detector": "classic"},
        "classic without plate boxes, all regions": {"classic_boxes": False},
        "classic without the catch-all check, all regions": {"classic_check_catch_all": False},
        "classic + detector rows, all regions": {"classic_yolo": True},
        "classic, every row read twice (`classic_sure_glyph` > 1), all regions": {
            "classic_sure_glyph": 1.01
        },
        "ocr, site region": {"detector": "ocr", "site_region": True},
        "classic, site region": {"detector": "classic", "site_region": True},
        "classic, all regions, onnxruntime": {"detector": "classic", "runtime": "onnxruntime"},
        "classic, all regions, `precision: auto`": {"precision": "auto"},
        "ocr, detected lines padded to 320, all regions": {"detector": "ocr", "rec_min_width": 320},
        "ocr det 640, site region": {"detector": "ocr", "site_region": True, "det_max_side": 640},
    }
    if have_yolo:
        plate_options["yolo, site region"] = {"detector": "yolo", "site_region": True}
    latency_options: dict[str, dict[str, Any]] = {
        "ocr det 960": {"detector": "ocr"},
        "ocr det 960, 2 runtime threads": {"detector": "ocr", "threads": 2},
        "ocr det 640": {"detector": "ocr", "det_max_side": 640},
        "classic: rows, plate boxes, ocr det 960 (default)": {"detector": "classic"},
        "classic (default), onnxruntime": {"runtime": "onnxruntime"},
        "classic (default), `precision: auto`": {"precision": "auto"},
        "classic without plate boxes": {"classic_boxes": False},
        "classic without the detector (no plate boxes, no check)": {
            "classic_boxes": False,
            "classic_check_catch_all": False,
        },
        "classic rows + detector rows": {"classic_yolo": True},
        "classic, every row read twice (`classic_sure_glyph` > 1)": {"classic_sure_glyph": 1.01},
        "classic, 2 runtime threads": {"detector": "classic", "threads": 2},
        "ocr det 960, detected lines padded to 320": {"detector": "ocr", "rec_min_width": 320},
        "classic 2 rows": {"detector": "classic", "classic_max_rows": 2},
        "classic 4 rows (the default before 2026-12-07 17:00)": {"classic_max_rows": 4},
    }
    # Container codes need text detection over the whole frame; `classic` (the
    # default) also reads the plate rows first, whose plates stand in for the lines'.
    container_options: dict[str, dict[str, Any]] = {
        "classic: plate rows + ocr det 960 (default: 2 views at a time, 1 thread each)": {},
        "classic (default), onnxruntime": {"runtime": "onnxruntime"},
        "classic (default), `precision: auto`": {"precision": "auto"},
        "codes only (`read_plates: false`: code boxes first, else ocr det 960)": {
            "read_plates": False
        },
        "codes only, whole frame (`classic_code_boxes: false`), ocr det 960": {
            "read_plates": False,
            "classic_code_boxes": False,
        },
        "ocr det 960 (plates from its lines: the default before 2026-12-06)": {"detector": "ocr"},
        "ocr det 960, detected lines padded to 320": {"detector": "ocr", "rec_min_width": 320},
        "ocr det 736": {"detector": "ocr", "det_max_side": 736},
    }
    passage_options: dict[str, dict[str, Any]] = {
        **container_options,
        "ocr det 960, view_workers 1 (one view at a time, 2 threads)": {
            "detector": "ocr",
            "view_workers": 1,
        },
        "ocr det 960, view_workers 1, 1 runtime thread": {
            "detector": "ocr",
            "view_workers": 1,
            "threads": 1,
        },
    }
    synthetic_options: dict[str, dict[str, Any]] = {"ocr det 960": {"detector": "ocr"}}
    if have_yolo:
        latency_options["yolo 320 + ocr on regions"] = {"detector": "yolo"}
        container_options["yolo 320 + ocr on regions"] = {"detector": "yolo"}
        passage_options["yolo 320 + ocr on regions"] = {"detector": "yolo"}
        synthetic_options["yolo 320 + ocr on regions"] = {"detector": "yolo"}

    plates = plate_rows(plate_options)
    containers = container_rows(container_options)
    latency = plate_latency_rows(latency_options)
    burst = plate_burst_rows(
        {
            "classic (default: 2 frames at a time, 1 thread each)": {},
            "classic, onnxruntime": {"runtime": "onnxruntime"},
            "classic, `precision: auto`": {"precision": "auto"},
            "classic, every row read twice": {"classic_sure_glyph": 1.01},
            "classic, view_workers 1 (one frame at a time, 2 threads)": {"view_workers": 1},
            "classic, every frame read through (`vote_every_frame`)": {"vote_every_frame": True},
        },
        "standing",
    ) + plate_burst_rows(
        {
            "classic (default)": {},
            "classic, `precision: auto`": {"precision": "auto"},
            "classic, every frame read through (`vote_every_frame`)": {"vote_every_frame": True},
        },
        "approaching",
    )
    passage = passage_latency_rows(passage_options)
    synthetic = synthetic_rows(synthetic_options)
    motion = motion_rows()
    detector = detector_rows() if have_yolo else ["| (no model in vision/models) | | | |"]
    body = f"""
Command: `{COMMAND}` (data: `../shared/data`; scoring as its README says, by `vision.evaluate`).
Load average when the run started: {load_at_start} (at the end: above).
Models run on the default runtime (`runtime: auto`: {default_runtime}) unless a row
names another (vision.runtime; `precision: auto` runs as {fastest_runtime} here).
Timings are wall-clock on the shared 2-core machine (the load average is other work;
this run's niceness: {os.nice(0)}); CPU ms is all threads of the process. A frame is
read with one runtime thread unless a row says otherwise (the default
`view_workers: 2` gives each of its two readers one); a burst reads two frames at once.
Plate rows read plates only (`read_containers: false`), which is what lets `classic` skip
text detection over the whole frame: a frame is settled by a character row (recogniser
alone), else by text detection in the YOLO detector's plate boxes (`classic_boxes`), else
by text detection over the whole frame (ocr). "detector rows" adds the rows in the
detector's sure plate boxes (`classic_yolo`, after the localiser's first two).

### Plates: labelled plate among the reads

{PLATE_HEADER}
{chr(10).join(plates)}

### Containers (`containers_marsa`, 5 views per truck)

{CONTAINER_HEADER}
{chr(10).join(containers)}

### Container passage latency (`read_burst` over the 5 views of one truck)

{PASSAGE_HEADER}
{chr(10).join(passage)}

### Plate latency per 800x600 frame (plates only)

6 US, 6 EU and 6 BR photos scaled to 800x600 and 3 rendered scenes, each read twice.

| option | frames | median ms | mean ms | max ms | median CPU ms | settled by rows / boxes / ocr |
|---|---|---|---|---|---|---|
{chr(10).join(latency)}

### Plate latency per frame of a burst (plates only, `read_burst`)

The same 21 frames, each as a burst of three frames of one vehicle, read as a plate
lane reads a burst: the burst's time over its three frames. `standing` (a vehicle at
the barrier): the frame as shipped, re-encoded at JPEG q80, cut 3 %; `approaching`:
the frame, then its middle zoomed 1.1 and 1.25 times (the vehicle closer). By default
a frame that rows and plate boxes do not settle is read over the whole frame only where
no frame of the burst settled (`vote_every_frame: false`).

| option | burst | bursts x frames | median ms a frame | mean ms a frame | mean CPU ms a frame |
|---|---|---|---|---|---|
{chr(10).join(burst)}

### Held-out rendered scenes (20 plates, 20 container sides)

| option | scenes | plate read % | code read % | wrong accepts |
|---|---|---|---|---|
{chr(10).join(synthetic)}

### YOLO region detector alone on real photos (box IoU > 0.3 plates, > 0.2 codes)

| set | class | found | median ms (320 px, {default_runtime}) |
|---|---|---|---|
{chr(10).join(detector)}

### Motion detection: OpenCV vs numba vs numpy (median ms per frame pair)

| frame | OpenCV absdiff+threshold+count | numba loop | numpy |
|---|---|---|---|
{chr(10).join(motion)}
"""
    write_section("Vision", body)
