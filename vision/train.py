"""Train the plate / container-code region detector (YOLO) and export it to ONNX.

Runs in the training venv only (`make train`: torch + ultralytics, the `train`
extra); the edge runtime needs just the exported ONNX file and onnxruntime.

    .venv-train/bin/python -m vision.train --images 3000 --hours 1.0

Everything is offline: the data set is rendered by `vision.synth`, the network is
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

from vision.synth import CLASS_IDS, SynthScene, render_container_scene, render_plate_scene

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
        if not FONT.exists():
            sys.exit(f"need a TTF at {FONT} (apt-get install fonts-dejavu-core)")
        shutil.copy(FONT, font)


def scene(rng: np.random.Generator, index: int) -> SynthScene:
    if index % 2 == 0:
        return render_plate_scene(rng)
    return render_container_scene(rng)


def yolo_label(scene: SynthScene, scale: float, w: int, h: int) -> str:
    lines = []
    for obj in scene.objects:
        x1, y1, x2, y2 = (v * scale for v in obj.box)
        cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
        lines.append(f"{CLASS_IDS[obj.kind]} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return "\n".join(lines) + "\n"


def render_dataset(count: int, imgsz: int, seed: int) -> Path:
    """Render `count` scenes (10% for validation) in the YOLO folder layout."""
    from tqdm import tqdm

    data = WORK / f"data-{count}-{imgsz}-{seed}"
    yaml_path = data / "data.yaml"
    if yaml_path.exists():
        return yaml_path
    rng = np.random.default_rng(seed)
    for i in tqdm(range(count), desc="rendering scenes", unit="img"):
        split = "val" if i % 10 == 0 else "train"
        s = scene(rng, i)
        h, w = s.image.shape[:2]
        scale = imgsz / max(h, w)
        small = cv2.resize(
            s.image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
        for sub in ("images", "labels"):
            (data / sub / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(data / "images" / split / f"{i:05d}.jpg"), small)
        label = yolo_label(s, scale, small.shape[1], small.shape[0])
        (data / "labels" / split / f"{i:05d}.txt").write_text(label)
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
    parser.add_argument("--model", default="yolo11n.yaml", help="architecture yaml")
    args = parser.parse_args(argv)

    offline_ultralytics()
    from ultralytics import YOLO  # after the environment is set

    data = render_dataset(args.images, args.imgsz, args.seed)
    model = YOLO(args.model)
    model.train(
        data=str(data),
        imgsz=args.imgsz,
        epochs=args.epochs,
        time=args.hours,
        batch=16,
        workers=1,
        device="cpu",
        amp=False,
        seed=args.seed,
        deterministic=True,
        project=str(WORK / "runs"),
        name="regions",
        exist_ok=True,
        plots=False,
        verbose=True,
    )
    metrics = model.val(data=str(data), imgsz=args.imgsz, device="cpu", plots=False)
    onnx_path = Path(model.export(format="onnx", imgsz=args.imgsz, simplify=True, opset=17))
    MODELS.mkdir(exist_ok=True)
    shutil.copy(onnx_path, MODELS / "regions.onnx")
    card = {
        "model": args.model,
        "classes": {str(v): k for k, v in CLASS_IDS.items()},
        "imgsz": args.imgsz,
        "images": args.images,
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
