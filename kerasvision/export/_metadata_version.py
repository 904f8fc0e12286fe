"""The one workaround that lets MediaPipe's TFLite metadata writers run today.

`mediapipe.tasks.python.metadata.metadata` (which every metadata writer
imports) starts with `from mediapipe.tasks.cc.metadata.python import
_pywrap_metadata_version`, a compiled module that the 0.10.3x and 1.x wheels
no longer ship (0.10.21 still does, but pins numpy<2 and protobuf<5, which
TensorFlow 2.21 cannot run with). Its only use there is
`GetMinimumMetadataParserVersion(metadata_buffer)`, the "min_parser_version"
written into the metadata.

`install()` registers, only while the wheel lacks that module, a pure-Python
module of that name whose function computes the version exactly as the
upstream C++ does (`mediapipe/tasks/cc/metadata/metadata_version.cc`): 1.0.0,
raised to the schema version of each later member the metadata uses. The
canary test `tests/export/test_metadata.py` fails once the wheel ships the
module again: then delete this file and its call in `metadata.py`.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys
import types

__all__ = ["MODULE", "install", "minimum_parser_version", "upstream_has_module"]

#: The compiled module the metadata writers import.
MODULE = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"

# Schema members added after 1.0.0, with the version that added them
# (`GetMemberVersion` of metadata_version.cc).
_VOCABULARY = (1, 0, 1)
_PROCESS_UNITS = (1, 1, 0)
_TOKENIZERS = (1, 1, 0)  # BertTokenizerOptions, SentencePieceTokenizerOptions
_TENSOR_GROUPS = (1, 2, 0)
_REGEX_TOKENIZER = (1, 2, 1)
_AUDIO_PROPERTIES = (1, 3, 0)
_SCANN_INDEX_FILE = (1, 4, 0)
_ASSOCIATED_FILE_VERSION = (1, 4, 1)
_CUSTOM_METADATA = (1, 5, 0)


def upstream_has_module() -> bool:
    """Whether the installed mediapipe wheel ships `MODULE` itself."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return False
    for root in spec.submodule_search_locations:
        folder = os.path.join(root, "tasks", "cc", "metadata", "python")
        if glob.glob(os.path.join(folder, "_pywrap_metadata_version*")):
            return True
    return False


def _files(files, schema) -> tuple:
    found = (1, 0, 0)
    for item in files or ():
        if item.type == schema.AssociatedFileType.VOCABULARY:
            found = max(found, _VOCABULARY)
        if item.type == schema.AssociatedFileType.SCANN_INDEX_FILE:
            found = max(found, _SCANN_INDEX_FILE)
        if item.version is not None:
            found = max(found, _ASSOCIATED_FILE_VERSION)
    return found


def _units(units, schema) -> tuple:
    options = schema.ProcessUnitOptions
    found = (1, 0, 0)
    for unit in units or ():
        if unit.optionsType in (
            options.BertTokenizerOptions,
            options.SentencePieceTokenizerOptions,
        ):
            found = max(found, _TOKENIZERS)
        if unit.optionsType == options.RegexTokenizerOptions:
            found = max(found, _REGEX_TOKENIZER)
    return found


def _tensor(tensor, schema) -> tuple:
    found = max(
        _files(tensor.associatedFiles, schema), _units(tensor.processUnits, schema)
    )
    content = tensor.content
    audio = schema.ContentProperties.AudioProperties
    if content is not None and content.contentPropertiesType == audio:
        found = max(found, _AUDIO_PROPERTIES)
    return found


def _subgraph(subgraph, schema) -> tuple:
    tensors = [
        *(subgraph.inputTensorMetadata or ()),
        *(subgraph.outputTensorMetadata or ()),
    ]
    found = max([(1, 0, 0), *(_tensor(t, schema) for t in tensors)])
    found = max(found, _files(subgraph.associatedFiles, schema))
    for units in (subgraph.inputProcessUnits, subgraph.outputProcessUnits):
        if units is not None:
            found = max(found, _PROCESS_UNITS, _units(units, schema))
    if (
        subgraph.inputTensorGroups is not None
        or subgraph.outputTensorGroups is not None
    ):
        found = max(found, _TENSOR_GROUPS)
    if subgraph.customMetadata is not None:
        found = max(found, _CUSTOM_METADATA)
    return found


def minimum_parser_version(buffer) -> str:
    """The smallest metadata parser version that reads every field of `buffer`
    (a `ModelMetadata` flatbuffer), e.g. "1.0.0"."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as schema

    metadata = schema.ModelMetadataT.InitFromObj(
        schema.ModelMetadata.GetRootAsModelMetadata(bytearray(buffer), 0)
    )
    found = max(
        [(1, 0, 0), *(_subgraph(s, schema) for s in metadata.subgraphMetadata or ())]
    )
    found = max(found, _files(metadata.associatedFiles, schema))
    return ".".join(str(part) for part in found)


def install() -> None:
    """Register `MODULE` (and its missing parent packages) unless mediapipe
    ships it; nothing happens when it does, or when it is registered already."""
    if MODULE in sys.modules or upstream_has_module():
        return
    parts = MODULE.split(".")
    for depth in range(3, len(parts)):  # mediapipe.tasks.cc ... .python
        name = ".".join(parts[:depth])
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = []  # a package holding nothing on disk
            sys.modules[name] = package
    module = types.ModuleType(MODULE, __doc__)
    module.GetMinimumMetadataParserVersion = minimum_parser_version
    sys.modules[MODULE] = module
    setattr(sys.modules[".".join(parts[:-1])], parts[-1], module)
