"""What comes in: Singer lines, BATCH files, and whether a record is usable.

:mod:`.reader` decodes the input (numbers exact, lone surrogates refused), :mod:`.batch_files`
reads the files a BATCH message names, :mod:`.validation` checks each record against the
``klanten`` body schema (jsonschema-rs decides, jsonschema words the reasons) and
:mod:`.exact_numbers` compares the reader's Decimals by value. Nothing here writes to Recras.
"""

from target_recras.input.batch_files import BatchError, batch_lines
from target_recras.input.exact_numbers import exact_number
from target_recras.input.reader import RecrasMessageReader
from target_recras.input.validation import Problem, RecordValidator, create_problem

__all__ = [
    "BatchError",
    "Problem",
    "RecordValidator",
    "RecrasMessageReader",
    "batch_lines",
    "create_problem",
    "exact_number",
]
