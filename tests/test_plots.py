import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from s11lib import plots

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


def test_one_cycle_plots_each_batch_against_epochs():
    ax = plots.one_cycle([0.1, 0.2, 0.3, 0.2], steps_per_epoch=2)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 0.5, 1, 1.5])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [0.1, 0.2, 0.3, 0.2])


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
    assert shown[0].get_title() == "cat\npred: dog"
