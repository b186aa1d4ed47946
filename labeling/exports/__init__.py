"""Writing passes out, streamed: the rows a record is built from (rows), the JSONL writers
(writers) and export jobs whose file is downloaded (downloads)."""
