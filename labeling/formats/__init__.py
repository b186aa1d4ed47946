"""Record formats, pure (no database): PRM800K records in and out, problem and solution files
(Stepwise JSONL, MATH, ProcessBench), TRL rows, the validated items importers write, and their
errors; and the limit every path holds a solution to (limits: MAX_SOLUTION_STEPS, read from settings
when used), here because the parsers are its lowest readers."""
