"""The explorer's figures and layout read well at a laptop's width (no browser needed)."""
import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from cerlib import example_data  # noqa: E402
from cerlib import widgets  # noqa: E402


@pytest.fixture(scope="module")
def drawn():
    """An explorer trained for 3 short epochs, with every figure it rendered."""
    figures = []
    real_png = widgets._png

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return real_png(fig, *args, **kwargs)

    widgets._png = keep
    try:
        ex = widgets.Explorer(example_data("creativeit"), epochs=3, frames_per_epoch=256)
        ex.train(block=True)
    finally:
        widgets._png = real_png
    return ex, figures


def _overlaps(a, b):
    return not (a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0)


def test_trace_labels_do_not_overlap_and_epochs_are_whole(drawn):
    ex, figures = drawn
    trace = [f for f in figures if f._suptitle is not None and "test recording" in f._suptitle.get_text()][-1]
    canvas = FigureCanvasAgg(trace)            # as saved into the PNG the widget shows
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [ax.yaxis.label.get_window_extent(renderer) for ax in trace.axes if ax.get_ylabel()]
    assert len(labels) >= 6                    # a trace and a running CCC per task
    clashes = [(i, j) for i in range(len(labels)) for j in range(i + 1, len(labels)) if _overlaps(labels[i], labels[j])]
    assert clashes == [], f"y labels overlap: {clashes}"
    curves = [f for f in figures if f._suptitle is not None and "epoch" in f._suptitle.get_text()]
    assert curves, "no learning curve was drawn"
    for ax in curves[-1].axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_rows_wrap_and_nothing_has_a_fixed_width_wider_than_a_notebook(drawn):
    ex, _ = drawn
    boxes = [child for child in ex.widget.children if hasattr(child, "children")]
    assert boxes and all(box.layout.flex_flow == "row wrap" for box in boxes)
    for image in (ex.curve, ex.trace):
        assert image.layout.max_width == "100%" and not str(image.layout.width).endswith("px")
    overlay = ex.controls["overlay"]
    assert overlay.indent is False and overlay.layout.width == "auto"
