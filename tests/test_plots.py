import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from s11lib import plots
from s11lib.config import CLASSES

HISTORY = [
    {"epoch": 1, "lr": 0.1, "train_loss": 2.0, "train_acc": 30.0, "test_loss": 1.8, "test_acc": 35.0, "seconds": 1.0},
    {"epoch": 2, "lr": 0.01, "train_loss": 1.5, "train_acc": 50.0, "test_loss": 1.4, "test_acc": 52.0, "seconds": 1.0},
]


def test_zigzag_draws_the_curve_given():
    it, lrs = np.arange(5), np.array([0.1, 0.2, 0.3, 0.2, 0.1])
    ax = plots.zigzag(it, lrs)
    assert isinstance(ax, Axes)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), lrs)


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
