import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from s11lib import plots
from s11lib.config import CLASSES
from s11lib.schedule import one_cycle_lr

HISTORY = [
    {"epoch": 1, "lr": 0.1, "train_loss": 2.0, "train_acc": 30.0, "test_loss": 1.8, "test_acc": 35.0, "seconds": 1.0},
    {"epoch": 2, "lr": 0.01, "train_loss": 1.5, "train_acc": 50.0, "test_loss": 1.4, "test_acc": 52.0, "seconds": 1.0},
]


def test_zigzag_draws_the_triangle_between_the_bounds_its_peaks_at_odd_step_sizes():
    from s11lib.schedule import zigzag_corners

    ax = plots.zigzag(*zigzag_corners(lr_min=0.004, lr_max=0.4, step_size=500, cycles=3))  # as `s11 zigzag` draws it
    assert isinstance(ax, Axes) and (ax.get_xlabel(), ax.get_ylabel()) == ("iteration", "learning rate")
    (line,) = ax.lines
    assert line.get_xdata().tolist() == [0, 500, 1000, 1500, 2000, 2500, 3000]
    assert line.get_ydata().tolist() == [0.004, 0.4, 0.004, 0.4, 0.004, 0.4, 0.004]
    plt.close(ax.figure)


def test_lr_range_marks_lrmin_and_lrmax():
    lrs = np.logspace(-4, 1, 6)
    losses = np.array([2.3, 2.3, 2.0, 1.5, 3.0, 9.0])
    ax = plots.lr_range(lrs, losses, losses, 1e-3, 1e-1)
    assert ax.get_xscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), lrs)
    assert [line.get_xdata()[0] for line in ax.lines[2:]] == [1e-3, 1e-1]
    assert "LRMIN 0.001" in ax.get_legend_handles_labels()[1][2]


def test_one_cycle_puts_each_batch_where_it_ends_and_marks_both_lrs():
    ax = plots.one_cycle([0.1, 0.2, 0.3, 0.2], steps_per_epoch=2, lr_min=0.1, lr_max=0.3)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0.5, 1, 1.5, 2])  # the peak (0.3) on the end of epoch 1
    assert [list(line.get_ydata()) for line in ax.lines[1:]] == [[0.3, 0.3], [0.1, 0.1]]
    assert [t.get_text() for t in ax.get_legend().get_texts()][1:] == ["LRMAX 0.3", "LRMIN 0.1"]
    assert ax.get_xlim() == (0, 2)


def test_epoch_axes_start_at_zero_with_whole_number_ticks():
    for ax in (plots.accuracy(HISTORY), plots.loss(HISTORY), plots.one_cycle([0.1] * 30, steps_per_epoch=10)):
        assert ax.get_xlim()[0] == 0
        assert all(float(t).is_integer() for t in ax.get_xticks())


def test_accuracy_and_loss_curves_hold_train_and_test():
    ax = plots.accuracy(HISTORY)
    assert [list(line.get_ydata()) for line in ax.lines] == [[30.0, 50.0], [35.0, 52.0]]
    ax = plots.loss(HISTORY)
    assert [list(line.get_ydata()) for line in ax.lines] == [[2.0, 1.5], [1.8, 1.4]]


def test_misclassified_grid_captions_true_and_predicted():
    images = np.zeros((25, 32, 32, 3), np.uint8)
    fig = plots.misclassified(images, np.full(25, 3), np.full(25, 5))
    assert isinstance(fig, Figure)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 25
    assert shown[0].get_title() == "true: cat\npred: dog"
    fig = plots.misclassified(images[:2], np.array([3, 1]), np.array([5, 9]), np.array([0.93, 0.5]))
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["true: cat\npred: dog (0.93)", "true: automobile\npred: truck (0.50)"]


def test_gradcam_pairs_put_the_predicted_map_beside_the_true_one():
    predicted, true = np.zeros((2, 32, 32, 3), np.uint8), np.full((2, 32, 32, 3), 255, np.uint8)
    fig = plots.gradcam_pairs(predicted, true, np.array([3, 0]), np.array([5, 8]), np.array([0.9, 0.6]))
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.images[0].get_array().max() for ax in shown] == [0, 255, 0, 255]
    assert [ax.get_title() for ax in shown] == ["pred: dog (0.90)", "true: cat", "pred: ship (0.60)", "true: airplane"]


def test_confusion_shows_counts_and_row_shares_with_class_names():
    m = np.zeros((10, 10), int)
    m[3, 5], m[3, 3], m[0, 0] = 1, 3, 2
    fig = plots.confusion(m)
    counts, shares = fig.axes[:2]
    assert [t.get_text() for t in counts.get_yticklabels()] == list(CLASSES)
    assert sorted(t.get_text() for t in counts.texts) == ["1", "2", "3"]
    assert sorted(t.get_text() for t in shares.texts) == ["0.25", "0.75", "1.00"]


def test_an_untrusted_pair_is_drawn_as_a_fallback_and_the_title_says_so():
    from s11lib import figures
    from s11lib.lr_rules import median_pair, read_curve

    lrs = np.geomspace(1e-4, 10, 30)
    flat = read_curve(lrs, np.full(30, 2.3) + np.linspace(0, 0.3, 30))  # only rose: nothing to read
    assert not flat.trusted
    for search in (median_pair([flat]), median_pair([flat, flat])):
        ax = figures.lr_figure(search)
        labels = [line.get_label() for line in ax.get_lines()]
        assert "cannot be trusted" in ax.get_title() and sum("fallback" in label for label in labels) == 2, labels
    healthy = read_curve(lrs, np.r_[np.linspace(2.3, 1.5, 20), np.linspace(1.6, 4, 10)])
    ax = figures.lr_figure(median_pair([healthy]))
    assert healthy.trusted and ax.get_title() == "LR range test"
    assert not [line for line in ax.get_lines() if "fallback" in line.get_label()]


def sweep_row(schedule, epochs, lr, seed, status="done", acc=50.0, found=False):
    return {"point": f"{schedule}-e{epochs}-{'found' if found else f'lr{lr:g}'}", "schedule": schedule, "epochs": epochs,
            "lr_max": lr, "lr_min": lr / 100, "seed": seed, "status": status, "test_accuracy": acc, "found": found,
            "test_accuracy_tta": acc, "note": "flat" if status == "untrusted" else None}


SWEEP_ROWS = [
    sweep_row("one-cycle", 2, 0.05, 1, acc=40.0), sweep_row("one-cycle", 2, 0.05, 2, acc=44.0),
    sweep_row("one-cycle", 2, 0.4, 1, acc=60.0), sweep_row("one-cycle", 2, 0.4, 2, acc=70.0),
    sweep_row("one-cycle", 2, 1.6, 1, "diverged", acc=85.0),  # its last good epoch's accuracy: never a result
    sweep_row("one-cycle", 2, 1.6, 2, "diverged", acc=None),
    sweep_row("one-cycle", 4, 0.05, 1, acc=50.0), sweep_row("one-cycle", 4, 0.4, 1, acc=75.0),
    sweep_row("step", 2, 0.05, 1, acc=30.0), sweep_row("step", 2, 0.4, 1, acc=35.0),
    sweep_row("one-cycle", 2, 0.3, 1, acc=66.0, found=True), sweep_row("one-cycle", 4, 0.3, 1, acc=77.0, found=True),
]


def test_sweep_lr_ticks_the_swept_lrs_and_keeps_diverged_runs_out_of_the_lines():
    colors = plots.sweep_colors({(r["schedule"], r["epochs"]) for r in SWEEP_ROWS})
    ax = plots.sweep_lr(SWEEP_ROWS, colors, found_lr_max=0.3)
    assert list(ax.get_xticks()) == [0.05, 0.4, 1.6] and [t.get_text() for t in ax.get_xticklabels()] == ["0.05", "0.4", "1.6"]
    assert len(ax.xaxis.get_minorticklocs()) == 0
    lines = {line.get_label(): line for line in ax.lines}
    oc2 = lines["one-cycle, 2 epochs (line: median of 2 seeds)"]
    assert list(oc2.get_xdata()) == [0.05, 0.4] and list(oc2.get_ydata()) == [42.0, 65.0]  # no diverged point
    assert lines["step, 2 epochs"].get_color() != oc2.get_color()
    labels = ax.get_legend_handles_labels()[1]
    assert "one cycle at the found pair, 2 epochs" in labels and "one cycle at the found pair, 4 epochs" in labels
    assert "diverged (its last good epoch's accuracy; 0: none finished)" in labels and "found LRMAX 0.3" in labels
    stars = {c.get_label(): c for c in ax.collections}
    assert tuple(stars["one cycle at the found pair, 4 epochs"].get_facecolor()[0]) == colors[("one-cycle", 4)]
    note = plots.sweep_lr(SWEEP_ROWS[:4], colors, note="range test cannot be trusted (flat): no found point trained")
    assert "range test cannot be trusted" in note.texts[0].get_text()


def test_a_run_that_diverged_in_its_first_epoch_is_drawn_inside_the_axes_at_its_tick():
    """README's small sweep: LR 0.4 finished, LR 50 blew up before any epoch finished; and a point whose
    Ray task failed (LR 0.05: nothing drawn there, its tick inside the axes all the same)."""
    rows = [{"point": "one-cycle-e2-lr0.4", "schedule": "one-cycle", "epochs": 2, "found": False, "lr_max": 0.4,
             "seed": 1, "status": "done", "test_accuracy": 21.5},
            {"point": "one-cycle-e2-lr50", "schedule": "one-cycle", "epochs": 2, "found": False, "lr_max": 50.0,
             "seed": 1, "status": "diverged", "test_accuracy": None},
            {"point": "one-cycle-e2-lr0.05", "schedule": "one-cycle", "epochs": 2, "found": False, "lr_max": 0.05,
             "seed": 1, "status": "failed", "test_accuracy": None}]
    ax = plots.sweep_lr(rows, plots.sweep_colors({("one-cycle", 2)}), found_lr_max=80.0)  # a found LRMAX past the grid
    cross = next(c for c in ax.collections if c.get_label().startswith("diverged"))
    (x, y), = cross.get_offsets().tolist()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert (x, y) == (50.0, 0.0) and x0 < 0.05 and x1 > 80 and y0 <= 0 <= y1
    assert list(ax.get_xticks()) == [0.05, 0.4, 50.0]


def test_sweep_colors_are_a_hue_per_schedule_darker_for_longer_runs_and_the_same_in_every_figure():
    import colorsys

    colors = plots.sweep_colors({("one-cycle", 2), ("one-cycle", 4), ("step", 2), ("step", 4)})
    hls = {k: colorsys.rgb_to_hls(*c[:3]) for k, c in colors.items()}
    for schedule in ("one-cycle", "step"):
        assert hls[(schedule, 4)][1] < hls[(schedule, 2)][1]  # longer: darker
        assert abs(hls[(schedule, 4)][0] - hls[(schedule, 2)][0]) < 0.05  # one hue
    assert abs(hls[("one-cycle", 2)][0] - hls[("step", 2)][0]) > 0.1  # schedules apart
    assert plots.sweep_colors({("one-cycle", 2), ("one-cycle", 4)}) == {k: colors[k] for k in [("one-cycle", 2), ("one-cycle", 4)]}


def test_sweep_curves_start_at_epoch_1_and_draw_the_found_pair_dashed():
    curves = [{"label": "one-cycle, 2 epochs, LRMAX 0.4 (median of 2 seeds)", "epochs": [1, 2], "accuracy": [40, 60],
               "color": "b", "found": False},
              {"label": "one cycle at the found pair, 2 epochs, LRMAX 0.3 (1 seed)", "epochs": [1, 2],
               "accuracy": [45, 66], "color": "b", "found": True}]
    ax = plots.sweep_curves(curves)
    assert ax.get_xlim() == (1, 2) and [line.get_linestyle() for line in ax.lines] == ["-", "--"]
    assert list(ax.lines[1].get_ydata()) == [45, 66]


def test_the_budget_figure_draws_each_lengths_best_point_and_the_found_pair(tmp_path):
    """Each schedule's line holds, per length, its best point's median over finished seeds (the found pair
    counts for one cycle when it is best), never a diverged run's accuracy (85.0) nor the first LRMAX's."""
    from s11lib.sweep_report import draw

    ax = draw(tmp_path, SWEEP_ROWS)["sweep_budget.png"]
    lines = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.lines}
    assert lines == {"one-cycle": ([2, 4], [66.0, 77.0]), "step": ([2], [35.0]),
                     "one cycle at the found pair": ([2, 4], [66.0, 77.0])}


def test_only_finished_runs_are_a_points_result():
    from s11lib.sweep_report import best_points, table

    best = {(b["schedule"], b["epochs"]): b for b in best_points(SWEEP_ROWS)}
    assert best[("one-cycle", 2)]["point"] == "one-cycle-e2-found" and best[("one-cycle", 2)]["median"] == 66.0
    assert best[("one-cycle", 4)]["median"] == 77.0 and best[("step", 2)]["median"] == 35.0
    assert all(b["status"] == "done" for b in best.values())
    text = table(SWEEP_ROWS)
    assert "one-cycle-e2-lr1.6" in text and "diverged (last good epoch's accuracy)" in text


def test_the_one_cycle_legend_covers_no_part_of_the_line():
    """Inside the axes any corner of the legend sits over the rise, the fall or a marked LR: it goes beside them."""
    lrs = [one_cycle_lr(i, total_steps=240, peak_step=49, lr_min=0.004, lr_max=0.4) for i in range(240)]
    ax = plots.one_cycle(lrs, 10, lr_min=0.004, lr_max=0.4)
    fig = ax.figure
    fig.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= axes.x1  # wholly to the right of the plotting area
    plt.close(fig)


def test_the_side_by_side_draws_each_runs_curve_and_final_and_each_groups_median():
    groups = [{"label": "one cycle", "curves": [[50.0, 80.0, 90.5], [55.0, 81.0, 91.0]], "finals": [90.5, 91.0]},
              {"label": "peer", "curves": [], "finals": [89.4, 89.8, 89.5]}]
    fig = plots.side_by_side(groups)
    left, right = fig.axes
    assert [list(line.get_ydata()) for line in left.lines if line.get_label() != "_nolegend_" and
            len(line.get_ydata()) == 3] == groups[0]["curves"]
    dots = [c.get_offsets() for c in right.collections]
    assert [list(d[:, 0]) for d in dots] == [g["finals"] for g in groups]
    assert [list(d[:, 1]) for d in dots] == [[1.0, 1.0], [0.0, 0.0, 0.0]]  # first group on top
    medians = [line.get_xdata()[0] for line in right.lines if len(set(line.get_xdata())) == 1 and
               line.get_xdata()[0] != 90.0]
    assert medians == [90.75, 89.5]
    assert [t.get_text() for t in right.get_yticklabels()] == ["peer", "one cycle"]
    plt.close(fig)
