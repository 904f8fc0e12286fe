"""Option choices shared by the library and the CLI (no heavy imports here)."""

RESIZE_MODES = ("stretch", "crop", "pad")
OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")
CACHE_MODES = ("auto", "memory", "none")
PREDICT_FORMATS = ("csv", "json")
TRANSFER_MODES = ("feature-extraction", "fine-tune")
BN_CHOICES = ("frozen", "train")
FEATURE_CACHE_CHOICES = ("auto", "on", "off")
