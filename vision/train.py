"""Train the plate / container-code region detector (YOLO) and export it to ONNX.

Runs in the training venv only (`make train`: torch + ultralytics, the `train`
extra); the edge runtime needs just the exported ONNX file and onnxruntime.

    .venv-train/bin/python -m vision.train --images 3000 --hours 1.0
    python -m vision.train --device 0 --images 24000 --batch 128 --workers 15 --hours 0.108  # GPU

Everything is offline: the data set is rendered by `vision.synth_vehicle` (plates
on vehicles) and `vision.synth` (container codes), the network is
built from its yaml (no pretrained download), and ultralytics gets a local config
dir with a free font under the name it probes for.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from vision.synth import CLASS_IDS, SynthScene, render_container_scene
from vision.synth_vehicle import SIZES, render_vehicle_scene

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "vision-train"
MODELS = Path(__file__).resolve().parent / "models"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core


def offline_ultralytics() -> None:
    """Keep ultralytics from reaching the network (settings, fonts, weights)."""
    config = WORK / "yolo-config"
    (config / "Ultralytics").mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_CONFIG_DIR"] = str(config)
    font = config / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        shutil.copy(free_font(), font)


def free_font() -> Path:
    """DejaVu Sans: Debian's fonts-dejavu-core, else the copy matplotlib (an
    ultralytics dependency) ships in its package data."""
    if FONT.exists():
        return FONT
    try:
        import matplotlib

        bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    except ImportError:
        bundled = FONT
    if not bundled.exists():
        sys.exit(f"need a TTF at {FONT} (apt-get install fonts-dejavu-core)")
    return bundled


def scene(rng: np.random.Generator, index: int, containers: float) -> SynthScene:
    """Scene `index`: a container door or side for a `containers` share, else vehicles.

    Vehicle scenes are rendered at 0.6 of the camera sizes: the detector sees them
    at `imgsz` (320) anyway, and it is 2.5 times cheaper.
    """
    if (index * 0.6180339887) % 1.0 < containers:
        return render_container_scene(rng)
    w, h = SIZES[rng.integers(len(SIZES))]
    return render_vehicle_scene(rng, (int(w * 0.6), int(h * 0.6)))


def yolo_label(scene: SynthScene, scale: float, w: int, h: int) -> str:
    lines = []
    for obj in scene.objects:
        x1, y1, x2, y2 = (v * scale for v in obj.box)
        cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
        lines.append(f"{CLASS_IDS[obj.kind]} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return "\n".join(lines) + "\n"


def render_one(job: tuple[Path, int, int, int, float]) -> None:
    """Render and write scene `i`; its generator is seeded by (seed, i), so the data
    set is the same whatever the number of processes."""
    data, i, imgsz, seed, containers = job
    rng = np.random.default_rng([seed, i])
    split = "val" if i % 10 == 0 else "train"
    s = scene(rng, i, containers)
    h, w = s.image.shape[:2]
    scale = imgsz / max(h, w)
    small = cv2.resize(s.image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(data / "images" / split / f"{i:05d}.jpg"), small)
    label = yolo_label(s, scale, small.shape[1], small.shape[0])
    (data / "labels" / split / f"{i:05d}.txt").write_text(label)


def render_dataset(count: int, imgsz: int, seed: int, containers: float, jobs: int) -> Path:
    """Render `count` scenes (10% for validation) in the YOLO folder layout."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    data = WORK / f"data-{count}-{imgsz}-{seed}-{containers:g}"
    yaml_path = data / "data.yaml"
    if yaml_path.exists():
        return yaml_path
    for split in ("train", "val"):
        for sub in ("images", "labels"):
            (data / sub / split).mkdir(parents=True, exist_ok=True)
    work = [(data, i, imgsz, seed, containers) for i in range(count)]
    # Spawned, not forked: a fork copies the locks of the parent's other threads
    # (onnxruntime's pool, a camera's grabber, logging) in whatever state they are in,
    # and a child can then wait on one forever (a test run hung so, once in three).
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(1, jobs), mp_context=spawn) as pool:
        done = pool.map(render_one, work, chunksize=32)
        list(tqdm(done, total=count, desc="rendering scenes", unit="img"))  # wait, with a bar
    names = {v: k for k, v in CLASS_IDS.items()}
    yaml_path.write_text(
        f"path: {data}\ntrain: images/train\nval: images/val\n"
        f"names:\n" + "".join(f"  {i}: {n}\n" for i, n in sorted(names.items()))
    )
    return yaml_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000, help="scenes to render")
    parser.add_argument("--imgsz", type=int, default=320, help="training input size, pixels")
    parser.add_argument("--epochs", type=int, default=60, help="upper bound on epochs")
    parser.add_argument("--hours", type=float, default=1.0, help="wall-clock budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--model", default="yolo11n.yaml", help="architecture yaml, or a .pt to go on from"
    )
    parser.add_argument("--containers", type=float, default=0.25, help="share of container scenes")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="render processes")
    parser.add_argument("--device", default="cpu", help="cpu, or a CUDA device such as 0")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="data loader processes")
    args = parser.parse_args(argv)

    offline_ultralytics()
    from ultralytics import YOLO  # after the environment is set

    data = render_dataset(args.images, args.imgsz, args.seed, args.containers, args.jobs)
    model = YOLO(args.model)
    gpu = args.device != "cpu"
    model.train(
        data=str(data),
        imgsz=args.imgsz,
        epochs=args.epochs,
        time=args.hours,
        batch=args.batch,
        workers=args.workers,
        device=args.device,
        amp=False,  # its check fetches a model; fp32 (TF32 on a GPU) needs none
        cache="ram" if gpu else False,
        seed=args.seed,
        deterministic=not gpu,  # deterministic CUDA kernels are much slower
        project=str(WORK / "runs"),
        name="regions",
        exist_ok=True,
        plots=False,
        verbose=True,
        degrees=8.0,  # cameras are mounted with some roll, and photos get rotated
        perspective=0.0003,
    )
    metrics = model.val(data=str(data), imgsz=args.imgsz, device=args.device, plots=False)
    onnx_path = Path(
        model.export(format="onnx", imgsz=args.imgsz, simplify=True, opset=17, device="cpu")
    )
    MODELS.mkdir(exist_ok=True)
    shutil.copy(onnx_path, MODELS / "regions.onnx")
    card = {
        "model": args.model,
        "classes": {str(v): k for k, v in CLASS_IDS.items()},
        "imgsz": args.imgsz,
        "images": args.images,
        "container_share": args.containers,
        "device": args.device,
        "seed": args.seed,
        "epochs_run": int(getattr(model.trainer, "epoch", -1)) + 1,
        "hours_budget": args.hours,
        "command": " ".join([".venv-train/bin/python -m vision.train", *(argv or sys.argv[1:])]),
        "val_map50": float(metrics.box.map50),
        "val_map50_95": float(metrics.box.map),
    }
    (MODELS / "regions.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
