"""Why a record or an object was not scanned: one code per reason, for the CLI and the fan-out.

A record skipped by the reader has its index (the line of a JSON-lines object, the data row
of a CSV or TSV object, the row of a Parquet object); a whole object skipped has index 0.
The scanner (:mod:`audit.pii`) adds the codes about the text field.
"""

from __future__ import annotations

from typing import Final, Literal

#: How deep a JSON record may nest (objects and arrays). Python's parser stops near 1,500
#: levels and anything that writes the record again (a redacted copy) needs stack to spare;
#: no post export nests anywhere near this deep.
MAX_DEPTH: Final = 500

#: The bytes of an object looked at to decide whether it is text at all.
HEAD_BYTES: Final = 8192

#: The longest record read when no PII config says otherwise (``max_record_bytes``).
DEFAULT_MAX_RECORD_BYTES: Final = 4_000_000

SkipReason = Literal[
    "empty_file",
    "binary_file",
    "unsupported_file",
    "unreadable_parquet",
    "record_too_large",
    "undecodable",
    "malformed_json",
    "too_deeply_nested",
    "number_too_long",
    "not_an_object",
    "malformed_csv",
    "no_text_field",
    "null_text",
    "text_not_string",
    "text_too_long",
]

#: Every skip reason and what it means (docs/pii.md lists the same).
SKIP_REASONS: Final[dict[SkipReason, str]] = {
    # whole objects (index 0)
    "empty_file": "the object holds no bytes (or only a byte order mark, or a CSV no header)",
    "binary_file": (
        f"a NUL byte in the first {HEAD_BYTES} bytes and more than half of the lines there "
        "hold one or are not UTF-8: an image, an archive, UTF-16 text"
    ),
    "unsupported_file": "a file name suffix that is no record format (audit.inputs.FORMATS)",
    "unreadable_parquet": "not a readable Parquet file (mid-file: the rest of the object)",
    # records, by the reader
    "record_too_large": (
        "a line or CSV row longer than max_record_bytes; skipped without being held in memory"
    ),
    "undecodable": "not UTF-8 text: invalid bytes, a NUL byte or a lone surrogate escape",
    "malformed_json": "a JSON line that does not parse",
    "too_deeply_nested": f"a JSON line nested more than {MAX_DEPTH} levels deep",
    "number_too_long": "a JSON integer longer than Python converts (sys.get_int_max_str_digits)",
    "not_an_object": "a JSON line that is an array, a string or a number, not an object",
    "malformed_csv": (
        "a CSV row with more or fewer fields than the header, or a quote never closed"
    ),
    # records, by the scanner
    "no_text_field": "no value at the text field's path",
    "null_text": "the text field is null",
    "text_not_string": "the text field is not a string",
    "text_too_long": "the text is longer than max_text_chars",
}
