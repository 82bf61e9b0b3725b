"""One config tree for reading plates and container codes at a lane."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vision.plates import REGION_FORMATS, plate_format


class VisionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: list[str] = Field(
        default=["us", "eu", "br"],
        description="Plate regions whose formats are accepted (us, eu, br); where two "
        "regions fit a read equally well, the one listed first wins: list your own first, "
        "and only those your traffic comes from (with every region on, a plate read a "
        "character short may fit another region's shape: a Brazilian `OZG3580` as the "
        "German-shaped `ZG3580`).",
    )
    plate_patterns: list[str] = Field(
        default=[],
        description="Site plate formats as regular expressions over A-Z0-9, tried first.",
    )
    letter_o_is_zero: list[str] = Field(
        default=["us"],
        description="Regions whose plates carry no letter O: a round glyph reads as 0.",
    )
    known_plates: list[str] = Field(
        default=[],
        description="Plates expected at this lane; a near read (confusion-weighted edit "
        "distance <= known_plate_max_cost) is reported as the known plate.",
    )
    known_plate_max_cost: float = Field(
        default=1.0, ge=0, description="Largest edit cost that still matches a known plate."
    )
    detector: Literal["classic", "ocr", "yolo"] = Field(
        default="classic",
        description="Where text is looked for: `classic` finds plate character rows with "
        "OpenCV (edge density, character blobs) and runs the recogniser on those alone; "
        "when no row gives a confident plate, the OCR engine's text detection runs in the "
        "YOLO detector's plate boxes, then over the whole frame (with container codes, "
        "over every frame: a row's plates then stand in for its plates); `ocr` always "
        "runs that "
        "text detection; `yolo` asks the trained region detector for plate and code "
        "regions first and reads only those (faster, less accurate: see docs).",
    )
    classic_max_rows: int = Field(
        default=3,
        ge=1,
        description="`classic`: candidate plate rows recognised before falling back to "
        "full text detection.",
    )
    classic_yolo: bool = Field(
        default=False,
        description="`classic`: also read the character rows in the YOLO detector's sure "
        "plate boxes, after the localiser's first two rows.",
    )
    classic_boxes: bool = Field(
        default=True,
        description="`classic`: when no row settles a frame, run text detection inside the "
        "YOLO detector's plate boxes (≈ 30 ms; once more widened by their size where the "
        "tight boxes settle nothing) before taking the plates from text detection over the "
        "whole frame (≈ 150-250 ms; already run where codes are read too); a sure plate "
        "read there settles the frame.",
    )
    classic_code_boxes: bool = Field(
        default=True,
        description="`classic`, reading container codes: run text detection in the YOLO "
        "detector's code boxes the whole frame read no code in (a box read at its own "
        "scale shows codes the whole frame misses); reading codes only (`read_plates: "
        "false`, a lane's container cameras), first: a view where every code box shows a "
        "check-digit-valid code is settled without text detection over the whole frame "
        "(≈ 90 against 350 ms a view, one thread).",
    )
    classic_check_catch_all: bool = Field(
        default=True,
        description="`classic`: a row read only a catch-all shape takes (a fleet number on "
        "a truck's sticker, a word) does not settle the frame when the YOLO detector is "
        "sure of a plate elsewhere in it (≈ 10 ms on the frames such reads settle).",
    )
    classic_min_confidence: float = Field(
        default=0.84,
        ge=0,
        le=1,
        description="`classic`: a row ends the search when two reads of it (two crops) "
        "show the same plate and the surer is at least this confident (or, where they "
        "disagree on a glyph neither is sure of, their character-by-character fusion is); "
        "so does a read in a plate box (`classic_boxes`).",
    )
    classic_sure_glyph: float = Field(
        default=0.97,
        ge=0,
        le=1.01,
        description="`classic`: a row's first read whose every character the recogniser "
        "gives at least this probability, and which shows a plate at least "
        "`classic_min_confidence` sure, ends the search without the second, wider crop "
        "(one recogniser call, ≈ 20 ms, less); above 1, every row is read twice.",
    )
    detector_model: Path | None = Field(
        default=None, description="ONNX region detector; default vision/models/regions.onnx."
    )
    detector_min_score: float = Field(
        default=0.25, ge=0, le=1, description="Least detector score for a region."
    )
    det_max_side: int = Field(
        default=960,
        ge=320,
        description="Frames are scaled so their longer side is at most this for text "
        "detection (pixels); larger finds smaller text, slower.",
    )
    rec_min_width: int = Field(
        default=128,
        ge=48,
        description="The recogniser pads each line found by text detection to at least "
        "this width (pixels at 48 px height; the engine's own value is 320): smaller is "
        "faster on short lines. A cropped plate row is always padded to 256.",
    )
    min_text_score: float = Field(
        default=0.5, ge=0, le=1, description="Least recogniser score for a line of text."
    )
    min_plate_confidence: float = Field(
        default=0.35, ge=0, le=1, description="Least confidence for a plate read to be reported."
    )
    read_plates: bool = Field(default=True, description="Look for licence plates.")
    read_containers: bool = Field(default=True, description="Look for container codes.")
    read_hazards: bool = Field(
        default=True,
        description="Look for ADR orange plates (hazard identification number over UN "
        "number) in the frames text detection reads over the whole frame (not in those a "
        "plate row or a code box settles).",
    )
    crop_margin: float = Field(
        default=0.15, ge=0, description="Margin around a read's box in its JPEG crop (fraction)."
    )
    jpeg_quality: int = Field(default=85, ge=10, le=100, description="Quality of JPEG crops.")
    runtime: Literal["auto", "openvino", "onnxruntime"] = Field(
        default="auto",
        description="What runs the models (OCR and region detector, the same ONNX files): "
        "`auto` is OpenVINO where it is installed (the `vision` extra installs it: the same "
        "reads, text detection 3.4x faster on the CPU measured), else onnxruntime.",
    )
    precision: Literal["f32", "auto"] = Field(
        default="f32",
        description="`f32`: full precision, the same reads on every CPU and runtime; `auto`: "
        "the runtime's fastest on this CPU (OpenVINO computes in bfloat16 where the CPU does "
        "natively: AMX, AVX-512 BF16; measured 1.8x faster a container passage, but a few "
        "changed photos read differently: docs/vision.md).",
    )
    threads: int = Field(
        default=0, ge=0, description="Runtime threads per model (0: one per core)."
    )
    view_workers: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Frames of a burst read at once, each worker beyond the first with its own "
        "copy of the models (about 105 MB more on OpenVINO, 37 MB on onnxruntime) and one "
        "runtime thread unless `threads` says otherwise (the first keeps one per core: it "
        "also reads single frames). Two frames at once beat one frame on two threads "
        "whether the cores are free or busy (a five-view container passage 1.07 against "
        "1.20 s quiet, 1.57 against 2.35 s beside one busy core: docs/vision.md); "
        "1 on a single-core box or to save the memory.",
    )
    vote_every_frame: bool = Field(
        default=False,
        description="A plate lane reads every frame of a burst through (text detection over "
        "the whole frame where rows and plate boxes settle nothing), so each casts a vote. "
        "Off: such a frame is read whole only where no frame of its camera view settled "
        "(the view's last frame first, its others only if that one shows a plate), and "
        "otherwise casts no vote (that read is right less often than not, and costs "
        "100-250 ms: docs/vision.md).",
    )

    @field_validator("regions", "letter_o_is_zero")
    @classmethod
    def known_regions(cls, regions: list[str]) -> list[str]:
        unknown = sorted(set(regions) - set(REGION_FORMATS))
        if unknown:
            raise ValueError(f"unknown plate regions {unknown}; known: {sorted(REGION_FORMATS)}")
        return regions

    @field_validator("plate_patterns")
    @classmethod
    def patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            plate_format("site", pattern, pattern)  # raises PlateFormatError when bad
        return patterns
