"""Every option tuple of the library and the CLI, once (no heavy imports here)."""

RESIZE_MODES = ("stretch", "crop", "pad")
OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")
#: Learning-rate schedules (`--schedule`); each phase gets its own curve.
SCHEDULES = ("cosine", "onecycle", "step", "constant")
CACHE_MODES = ("auto", "memory", "none")
PREDICT_FORMATS = ("csv", "json")
TRANSFER_MODES = ("feature-extraction", "fine-tune")
BN_POLICIES = ("frozen", "train")
FEATURE_CACHE_MODES = ("auto", "on", "off")
#: LiteRT (TFLite) quantization of `export --format tflite`.
QUANTIZE_MODES = ("none", "float16", "dynamic", "int8")
#: Test-time augmentation views (`--tta`).
TTA_MODES = ("flip", "flip+crop")
AUTOENCODER_ARCHITECTURES = ("conv", "dense")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
DISTRIBUTE_MODES = ("none", "mirrored", "multiworker")
#: Head pooling of every classifier (Keras's `pooling`), plus flattening.
POOLINGS = ("avg", "max", "flatten")
#: Pooling layer at the end of each block of the scratch CNNs.
BLOCK_POOLINGS = ("max", "avg")
#: Normalization after each convolution of the scratch builders (`--norm`).
NORMALIZATIONS = ("batch", "layer", "group", "instance", "none")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "swish")
CHANNELS = (1, 3, 4)
