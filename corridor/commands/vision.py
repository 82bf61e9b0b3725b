"""`corridor vision`: read plates and container codes; score a labelled folder."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)


def lane_vision(
    detector: str,
    regions: str,
    det_max_side: int,
    plates_only: bool,
    codes_only: bool,
    runtime: str,
    precision: str,
) -> Any:
    from vision.config import VisionConfig
    from vision.errors import VisionError
    from vision.reader import LaneVision

    if plates_only and codes_only:
        raise click.UsageError("--plates-only and --codes-only exclude each other")
    try:
        config = VisionConfig(
            detector=detector,
            regions=[r.strip() for r in regions.split(",") if r.strip()],
            det_max_side=det_max_side,
            read_containers=not plates_only,
            read_plates=not codes_only,
            runtime=runtime,
            precision=precision,
        )
        return LaneVision(config)
    except (VisionError, ValueError) as err:
        raise click.ClickException(str(err)) from err


common = [
    click.option(
        "--detector",
        type=click.Choice(["ocr", "classic", "yolo"]),
        default="classic",
        show_default=True,
        help="Plate character rows found by OpenCV and read by the recogniser, text "
        "detection over the frame for codes and for plates no row settles (classic); "
        "text detection everywhere (ocr); the YOLO detector's regions (yolo).",
    ),
    click.option(
        "--plates-only",
        is_flag=True,
        help="Read licence plates only (a plate lane: no container codes; faster).",
    ),
    click.option(
        "--codes-only",
        is_flag=True,
        help="Read container codes only (a lane's container camera: the region "
        "detector's code boxes first; faster).",
    ),
    click.option(
        "--regions",
        default="us,eu,br",
        show_default=True,
        help="Plate regions, comma-separated; on a tie the first listed wins.",
    ),
    click.option(
        "--det-max-side",
        type=int,
        default=960,
        show_default=True,
        help="Longer side of the frame for text detection, pixels.",
    ),
    click.option(
        "--runtime",
        type=click.Choice(["auto", "openvino", "onnxruntime"]),
        default="auto",
        show_default=True,
        help="What runs the models: OpenVINO where installed (auto), or the one named.",
    ),
    click.option(
        "--precision",
        type=click.Choice(["f32", "auto"]),
        default="f32",
        show_default=True,
        help="f32: the same reads on every CPU; auto: the runtime's fastest here "
        "(OpenVINO: bfloat16 on CPUs with AMX or AVX-512 BF16; a few reads differ).",
    ),
]


def with_common(f: Any) -> Any:
    for option in reversed(common):
        f = option(f)
    return f


@click.group()
def cli() -> None:
    """Read plates and container codes; evaluate on a labelled folder."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image (the default).")
@click.option(
    "--area",
    default=None,
    metavar="X1,Y1,X2,Y2",
    help="Read only this part of each image, as fractions of its width and height "
    "(a camera view's read_area); boxes stay in the image's pixels.",
)
@click.option(
    "--draw",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each image into this folder with the read area and the reads "
    "drawn on it (for setting a camera's read_area).",
)
@with_common
def read(
    paths: tuple[Path, ...],
    as_json: bool,
    area: str | None,
    draw: Path | None,
    detector: str,
    plates_only: bool,
    codes_only: bool,
    regions: str,
    det_max_side: int,
    runtime: str,
    precision: str,
) -> None:
    """Print what each image shows, one JSON object per image file.

    Only the image is looked at; label files beside it are never read. An image
    that cannot be read gets an "error" field; the exit status is then 1.
    """
    from vision.area import parse_area
    from vision.errors import VisionError
    from vision.reader import load_image

    try:
        read_area = parse_area(area) if area is not None else None
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--area") from err
    vision = lane_vision(
        detector, regions, det_max_side, plates_only, codes_only, runtime, precision
    )
    failures = 0
    for path in paths:
        out: dict[str, Any] = {"file": str(path), "plates": [], "containers": []}
        try:
            image = load_image(path)
            seen = vision.read_frame(image, view=path.name, area=read_area)
            out["plates"] = [read_json(p, "text") for p in seen.plates]
            out["containers"] = [read_json(c, "code", "size_type") for c in seen.containers]
            if seen.hazards:  # ADR orange plates: the key is there only where one was read
                out["hazards"] = [read_json(h, "hazard_number", "un_number") for h in seen.hazards]
            if draw is not None:  # after the reads: a drawing not written keeps them
                write_drawn(draw / path.name, image, read_area, seen)
        except VisionError as err:
            failures += 1
            log.warning("%s", err)
            out["error"] = str(err)
        click.echo(json.dumps(out))
    if failures:
        done = "read or drawn" if draw is not None else "read"
        click.echo(f"{failures} of {len(paths)} images could not be {done}", err=True)
        sys.exit(1)


def read_json(read: Any, *fields: str) -> dict[str, Any]:
    """One read of `corridor vision read`'s output: `fields`, then confidence and box."""
    return {
        **{name: getattr(read, name) for name in fields},
        "confidence": read.confidence,
        "box": list(read.box),
    }


def drawn(image: Any, area: Any, seen: Any) -> Any:
    """A copy of `image` for a person setting a read area: what lies outside `area`
    dimmed, the area outlined in yellow, and each read in `seen` outlined and labelled
    (plates green, container codes orange, orange plates magenta)."""
    import cv2
    import numpy as np

    from vision.area import area_box

    out = image.copy()
    if area is not None:
        x1, y1, x2, y2 = area_box(image.shape, area)
        outside = np.ones(image.shape[:2], bool)
        outside[y1:y2, x1:x2] = False
        out[outside] = (out[outside] * 0.35).astype(np.uint8)
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), (0, 255, 255), 2)
    labelled = [(p.text, p.box, (0, 255, 0)) for p in seen.plates]
    labelled += [(c.code, c.box, (0, 128, 255)) for c in seen.containers]
    labelled += [(h.code, h.box, (255, 0, 255)) for h in seen.hazards]
    for label, (bx1, by1, bx2, by2), colour in labelled:
        cv2.rectangle(out, (bx1, by1), (bx2, by2), colour, 2)
        cv2.putText(out, label, (bx1, max(12, by1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2)
    return out


def write_drawn(path: Path, image: Any, area: Any, seen: Any) -> None:
    """`drawn` written to `path`; ImageError where it cannot be written."""
    import cv2

    from vision.errors import ImageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        written = cv2.imwrite(str(path), drawn(image, area, seen))
    except (OSError, cv2.error) as err:
        raise ImageError(f"cannot write {path}: {err}") from err
    if not written:
        raise ImageError(f"cannot write {path}")


@cli.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--changes",
    is_flag=True,
    help="Also read every image after changes any camera or encoder makes (JPEG q80, "
    "scaled 0.85 and 1.2, cut 3 %) and give the figures per change and over all: what "
    "to expect on images the system has not seen.",
)
@click.option(
    "--harder",
    is_flag=True,
    help="Read every image after harder changes instead (turned 5 degrees either way, "
    "blurred, darker, brighter, noisy, sheared, scaled 0.6): where the reading breaks.",
)
@with_common
def evaluate(
    folder: Path,
    as_json: bool,
    changes: bool,
    harder: bool,
    detector: str,
    plates_only: bool,
    codes_only: bool,
    regions: str,
    det_max_side: int,
    runtime: str,
    precision: str,
) -> None:
    """Score the images of FOLDER against its labels.csv (file,text)."""
    from rich.console import Console
    from rich.progress import Progress

    from vision.evaluate import CHANGES, HARDER_CHANGES, LabelError, evaluate_changed, overall
    from vision.evaluate import evaluate as run

    vision = lane_vision(
        detector, regions, det_max_side, plates_only, codes_only, runtime, precision
    )
    console = Console(stderr=True)

    def progress(names: Iterator[str], total: int) -> Iterator[str]:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"reading {folder.name}", total=total)
            for name in names:
                yield name
                bar.advance(task)

    if changes or harder:
        try:
            tallies = evaluate_changed(
                folder, vision, progress, HARDER_CHANGES if harder else CHANGES
            )
        except LabelError as err:
            raise click.ClickException(str(err)) from err
        per_change = {name: t.figures() for name, t in tallies.items()}
        total = overall(tallies)
        if as_json:
            click.echo(json.dumps({"changes": per_change, "overall": total}, indent=2))
            return
        for name, figures in [*per_change.items(), ("all changes", total)]:
            shown = {k: v for k, v in figures.items() if k not in ("kind", "misses")}
            click.echo(f"{name:12} " + "  ".join(f"{k} {v}" for k, v in shown.items()))
        return
    try:
        tally = run(folder, vision, progress)
    except LabelError as err:
        raise click.ClickException(str(err)) from err
    figures = tally.figures()
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        if key != "misses":
            click.echo(f"{key:28} {value}")
    for miss in figures["misses"]:
        click.echo(f"  miss: {miss}")
