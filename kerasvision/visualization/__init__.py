"""Pictures of data, training and models (PNG writers use matplotlib's Agg backend)."""

from kerasvision.visualization.plots import plot_confusion_matrix, plot_training_curves

__all__ = ["plot_confusion_matrix", "plot_training_curves"]
