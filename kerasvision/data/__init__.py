"""Image data: files (`images`), index splits (`splits`), the `ImageData` tf.data
pipeline (`pipeline`), its sources (`sources`: a folder per class, a pre-split
folder or `--val-dir`/`--test-dir` (`presplit`), a CSV or DataFrame of labels
(`table`), arrays, built-in datasets), folder layouts (`layout`), writing
datasets (`writing`), segmentation data (`segmentation`) and the built-in
datasets (`datasets`).

Data flows images -> splits -> pipeline -> layout -> listing -> presplit,
table -> sources; `datasets` is a leaf registry. The public names are
available here, imported on first use (so the CLI's `--help` does not load
NumPy or TensorFlow).
"""

from __future__ import annotations

from kerasvision._lazy import lazy_package

_PUBLIC = {
    "DATASETS": "kerasvision.data.datasets",
    "DEFAULT_FOLDER_SIZE": "kerasvision.data.sources",
    "DatasetSpec": "kerasvision.data.datasets",
    "FileCheck": "kerasvision.data.images",
    "LabelTable": "kerasvision.data.table",
    "IMAGE_EXTENSIONS": "kerasvision.data.images",
    "ImageData": "kerasvision.data.pipeline",
    "SegmentationData": "kerasvision.data.segmentation",
    "Split": "kerasvision.data.pipeline",
    "check_image_file": "kerasvision.data.images",
    "check_image_files": "kerasvision.data.images",
    "check_inputs": "kerasvision.data.images",
    "decode_and_resize": "kerasvision.data.images",
    "decode_image_file": "kerasvision.data.images",
    "detect_layout": "kerasvision.data.layout",
    "find_images": "kerasvision.data.images",
    "from_arrays": "kerasvision.data.sources",
    "images_dataset": "kerasvision.data.images",
    "is_image_name": "kerasvision.data.images",
    "label_statistics": "kerasvision.data.labelsets",
    "list_datasets": "kerasvision.data.datasets",
    "load_builtin": "kerasvision.data.datasets",
    "load_builtin_dataset": "kerasvision.data.sources",
    "load_data": "kerasvision.data.sources",
    "load_image_folder": "kerasvision.data.sources",
    "load_images": "kerasvision.data.images",
    "load_label_table": "kerasvision.data.sources",
    "load_split_folders": "kerasvision.data.sources",
    "load_segmentation_data": "kerasvision.data.segmentation",
    "load_segmentation_folder": "kerasvision.data.segmentation",
    "multilabel_split": "kerasvision.data.splits",
    "parse_image_size": "kerasvision.data.images",
    "resize_image": "kerasvision.data.images",
    "resplit_folder": "kerasvision.data.writing",
    "save_image_folder": "kerasvision.data.writing",
    "scan_image_folder": "kerasvision.data.sources",
    "split_from_record": "kerasvision.data.splits",
    "stratified_split": "kerasvision.data.splits",
    "to_channels": "kerasvision.data.images",
    "walk_images": "kerasvision.data.images",
    "write_builtin_dataset": "kerasvision.data.writing",
}

lazy_package(__name__, _PUBLIC, globals())
