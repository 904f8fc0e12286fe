"""Option choices shared by the library and the CLI (no heavy imports here)."""

RESIZE_MODES = ("stretch", "crop", "pad")
OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")
CACHE_MODES = ("auto", "memory", "none")
PREDICT_FORMATS = ("csv", "json")
