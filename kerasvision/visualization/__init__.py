"""Pictures of data, training and models (PNG writers use matplotlib's Agg backend).

Public names load lazily: `import kerasvision.visualization` does not import
TensorFlow; the first name used loads it, quietly (`kerasvision._lazy`), and
`kerasvision.visualization.plots` itself needs only matplotlib. The functions
`gradcam` and `feature_maps` share their names with their modules: the package
attribute is the function, so import from the module explicitly
(`from kerasvision.visualization.gradcam import gradcam`) when you need other
names of it.
"""

from __future__ import annotations

from kerasvision._lazy import lazy_package

_PUBLIC = {
    # plots
    "plot_confusion_matrix": ".plots",
    "plot_image_rows": ".reconstructions",
    "plot_latent_scatter": ".reconstructions",
    "plot_segmentation": ".reconstructions",
    "plot_per_class_metrics": ".plots",
    "plot_reliability_diagram": ".plots",
    "plot_top_losses": ".plots",
    "plot_training_curves": ".plots",
    # augmentation preview
    "preview_augmentation": ".augmentation",
    "preview_dataset": ".augmentation",
    # a run's pictures
    "visualize_run": ".pictures",
    # filters
    "activation_maximization": ".filters",
    "first_layer_filters": ".filters",
    "layer_kernels": ".filters",
    "plot_activation_maximization": ".filters",
    "plot_filters": ".filters",
    # feature maps
    "feature_maps": ".feature_maps",
    "plot_feature_maps": ".feature_maps",
    # saliency
    "gradient_x_input": ".saliency",
    "plot_saliency": ".saliency",
    "smoothgrad": ".saliency",
    "vanilla_saliency": ".saliency",
    # Grad-CAM
    "gradcam": ".gradcam",
    "gradcam_plus_plus": ".gradcam",
    "overlay_heatmap": ".gradcam",
    "plot_gradcam": ".gradcam",
    "target_layer": ".gradcam",
    # layer lookup and the split forward pass
    "find_layer": "._gradients",
    "list_layer_names": "._gradients",
    "split_at_layer": "._gradients",
}

lazy_package(__name__, _PUBLIC, globals())
