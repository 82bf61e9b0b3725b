"""The changes `vision.evaluate` reads photos after: each is what its name says."""

from __future__ import annotations

import numpy as np

from vision.evaluate import CHANGES, HARDER_CHANGES, gamma, noisy, rotated, sheared


def bar_frame() -> np.ndarray:
    """A grey frame with a black horizontal bar across its middle."""
    frame = np.full((200, 400, 3), 160, np.uint8)
    frame[95:105, 50:350] = 0
    return frame


def bar_rows(frame: np.ndarray, column: int) -> float:
    """The mean row of the bar's dark pixels in one column."""
    return float(np.nonzero(frame[:, column, 0] < 80)[0].mean())


def test_rotation_tilts_the_bar_about_the_middle() -> None:
    turned = rotated(bar_frame(), 5)  # counter-clockwise, as OpenCV turns
    left, right = bar_rows(turned, 80), bar_rows(turned, 320)
    assert abs((left - right) - np.tan(np.radians(5)) * 240) < 2  # the left end lower
    assert abs(bar_rows(turned, 200) - 99.5) < 1.5  # the middle stays put


def test_shear_shifts_rows_along_not_up() -> None:
    frame = np.full((200, 400, 3), 160, np.uint8)
    frame[:, 195:205] = 0  # a vertical bar
    slanted = sheared(frame, 0.15)
    top = np.nonzero(slanted[10, :, 0] < 80)[0].mean()
    bottom = np.nonzero(slanted[190, :, 0] < 80)[0].mean()
    assert abs((bottom - top) - 0.15 * 180) < 2  # lower rows further right


def test_gamma_darkens_above_one_and_brightens_below() -> None:
    frame = bar_frame()
    assert gamma(frame, 1.8).mean() < frame.mean() < gamma(frame, 0.55).mean()
    assert gamma(frame, 1.8)[100, 200, 0] == 0  # black stays black


def test_noise_is_repeatable_and_keeps_the_frame() -> None:
    frame = bar_frame()
    once, again = noisy(frame, 8), noisy(frame, 8)
    assert np.array_equal(once, again) and not np.array_equal(once, frame)
    assert once.dtype == np.uint8 and abs(float(once.mean()) - float(frame.mean())) < 1


def test_every_change_gives_a_colour_frame_and_changes_it() -> None:
    frame = bar_frame()
    for name, change in {**CHANGES, **HARDER_CHANGES}.items():
        out = change(frame)
        assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8, name
        assert name == "as shipped" or not np.array_equal(out, frame), name
