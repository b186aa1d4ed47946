"""Record formats, pure (no database): PRM800K records in and out, problem and solution files
(Stepwise JSONL, MATH, ProcessBench), TRL rows, the validated items importers write, and their
errors."""
