"""How much the vision read rates move when the same photos change slightly.

    .venv/bin/python -m bench vision_robust

../shared/data holds a few dozen photos; a larger set of the same kinds is kept
apart for blind evaluation. A read rate tuned on a few photos can rest on luck:
the text detector's box moves by a pixel, the recogniser's crop changes, and a
character flips. Here every photo is also read after changes a camera or an
encoder makes anyway (JPEG re-encoding, a slightly other scale, the frame cut a
little differently), and the rate over all of them is the figure to expect on
photos the system has not seen. Writes the `## Vision robustness` section of
BENCHMARKS.md; the scoring is `vision.evaluate`'s.
"""

from __future__ import annotations

from typing import Any

from bench.report import write_section
from bench.vision import SHARED_DATA, lane_vision, runtime_label

COMMAND = ".venv/bin/python -m bench vision_robust"
PLATE_SETS = ("us", "eu", "br")
RUNTIME = ("runtime", "precision")
CONTAINER_HEADER = (
    "| option, runtime | change | frame read % | frame wrong accepts | passage read % "
    "| passage wrong accepts |\n|---|---|---|---|---|---|"
)


def change_rates(region: str, tallies: dict[str, Any]) -> tuple[str, float]:
    """Each change's plate read rate ("a / b / ...") and the rate over all of them; EU
    with O/0 folded (its labels mix them)."""
    read = [t.correct_folded if region == "eu" else t.correct for t in tallies.values()]
    items = [t.items for t in tallies.values()]
    per_change = " / ".join(f"{100 * r / max(n, 1):.0f}" for r, n in zip(read, items, strict=True))
    return per_change, 100 * sum(read) / max(sum(items), 1)


def plate_rows(options: dict[str, dict[str, Any]]) -> list[str]:
    from vision.evaluate import evaluate_changed

    rows = []
    for label, config in options.items():
        vision = lane_vision(**{"read_containers": False, **config})
        for region in PLATE_SETS:
            source = SHARED_DATA / f"plates_openalpr_{region}"
            if not source.exists():
                continue
            per_change, overall = change_rates(region, evaluate_changed(source, vision))
            rows.append(f"| {label} | {region} | {per_change} | {overall:.1f} |")
            print(rows[-1], flush=True)
    return rows


def harder_rows() -> list[str]:
    """The plate lane over `HARDER_CHANGES`, with every region on (the default) and with
    the set's own region only (a site lists the regions its traffic comes from)."""
    from vision.evaluate import HARDER_CHANGES, evaluate_changed

    rows = []
    for region in PLATE_SETS:
        source = SHARED_DATA / f"plates_openalpr_{region}"
        if not source.exists():
            continue
        for label, regions in (("all regions", ["us", "eu", "br"]), ("its own", [region])):
            vision = lane_vision(read_containers=False, regions=regions)
            tallies = evaluate_changed(source, vision, changes=HARDER_CHANGES)
            per_change, overall = change_rates(region, tallies)
            rows.append(f"| {region} | {label} | {per_change} | {overall:.1f} |")
            print(rows[-1], flush=True)
            del vision
    return rows


def burst_rows() -> list[str]:
    """Each photo's five versions read as one burst of a plate lane (`read_burst`).

    A lane reads several frames of each vehicle and votes; frames of one vehicle differ
    the way these versions do, so this is nearer to what the barrier acts on."""
    from vision.evaluate import CHANGES, fold_o, read_labels
    from vision.reader import Frame, PlateRead, load_image

    vision = lane_vision(detector="classic", read_containers=False)
    rows = []
    for region in PLATE_SETS:
        source = SHARED_DATA / f"plates_openalpr_{region}"
        if not source.exists():
            continue
        labels = read_labels(source)
        among = strongest = 0
        for name, label in sorted(labels.items()):
            image = load_image(source / name)
            frames = [Frame(change(image), "front") for change in CHANGES.values()]
            plates = [r for r in vision.read_burst(frames) if isinstance(r, PlateRead)]
            same = fold_o if region == "eu" else (lambda text: text)
            texts = [same(p.text) for p in plates]
            among += same(label) in texts
            strongest += bool(texts) and texts[0] == same(label)
        n = len(labels)
        rows.append(f"| {region} | {n} | {100 * among / n:.1f} | {100 * strongest / n:.1f} |")
        print(rows[-1], flush=True)
    return rows


def container_rows(options: dict[str, dict[str, Any]]) -> list[str]:
    from vision.evaluate import evaluate_changed

    source = SHARED_DATA / "containers_marsa"
    if not source.exists():
        return []
    rows = []
    for option, config in options.items():
        vision = lane_vision(detector="classic", **config)
        label = f"{option}, {runtime_label(**{k: v for k, v in config.items() if k in RUNTIME})}"
        for name, tally in evaluate_changed(source, vision).items():
            f = tally.figures()
            rows.append(
                f"| {label} | {name} | {f['read_rate_pct']} "
                f"| {f['wrong_accepts_frames']} "
                f"| {f.get('passage_read_rate_pct', '-')} "
                f"| {f.get('passage_wrong_accepts', '-')} |"
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    options = {
        "classic, plates and codes (`corridor vision read`)": {
            "detector": "classic",
            "read_containers": True,
        },
        "classic, plates only (plate lane)": {"detector": "classic"},
        "ocr (text detection only)": {"detector": "ocr"},
        "classic, plates only (plate lane), onnxruntime": {
            "detector": "classic",
            "runtime": "onnxruntime",
        },
        "classic, plates only (plate lane), `precision: auto`": {
            "detector": "classic",
            "precision": "auto",
        },
    }
    plates = plate_rows(options)
    containers = container_rows(
        {
            "plates and codes (`corridor vision read`)": {},
            "plates and codes": {"runtime": "onnxruntime"},
            "plates and codes, `precision: auto`": {"precision": "auto"},
            "codes only (a container camera: code boxes first)": {"read_plates": False},
            "codes only, whole frame (`classic_code_boxes: false`)": {
                "read_plates": False,
                "classic_code_boxes": False,
            },
        }
    )
    bursts = burst_rows()
    harder = harder_rows()
    from vision.evaluate import CHANGES, HARDER_CHANGES

    changes = " / ".join(CHANGES)
    harder_changes = " / ".join(HARDER_CHANGES)
    body = f"""
Command: `{COMMAND}` (data: `../shared/data`; scoring by `vision.evaluate`).
Each photo is read as shipped and after four changes a camera or encoder makes
anyway; the last column is the rate over all five, the figure to expect on photos
the system has not seen. EU is scored with O/0 folded (its labels mix them).
Models run on the default runtime (`runtime: auto`: {runtime_label()}) unless a row
names another (`precision: auto` runs as {runtime_label(precision="auto")} here).

### Plates: labelled plate among the reads, all regions on

| detector | set | {changes} (%) | all changes % |
|---|---|---|---|
{chr(10).join(plates)}

### Plates: a photo's five versions as one burst (`classic`, plate lane, `read_burst`)

| set | photos | plate among the burst's reads % | the burst's strongest read is it % |
|---|---|---|---|
{chr(10).join(bursts)}

### Plates: harder changes (`classic`, plate lane), every region on or the set's own

Each photo turned 5° either way, blurred (Gaussian σ 1.2 px), darker (gamma 1.8),
brighter (gamma 0.55), with sensor noise (σ 8), sheared 0.15 and scaled 0.6
(`vision.evaluate.HARDER_CHANGES`; `corridor vision eval DIR --harder`): where the
reading breaks, not what to expect on the whole.

| set | regions | {harder_changes} (%) | all % |
|---|---|---|---|
{chr(10).join(harder)}

### Containers (`containers_marsa`, text detection at 960 px)

{CONTAINER_HEADER}
{chr(10).join(containers)}
"""
    write_section("Vision robustness", body)
