"""The process reward model: backbones (which may be loaded, how they are shown), encoding,
training, scoring and the registry of trained versions, and how PRMs are judged (metrics,
ProcessBench and best-of-N evaluation). Knows nothing of rounds."""
