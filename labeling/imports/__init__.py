"""Reading files into the database, all or nothing: readers (JSONL, JSON arrays, gzip), the batch
writer, whole-file imports (files) and upload jobs run by the worker (uploads)."""
