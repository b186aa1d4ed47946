"""The policy: the model that writes candidate solutions. Connections to OpenAI-compatible servers
(connection; the built-in demo generator needs none), versioned prompts, the sampling client with
retries and accounting, the splitting of a sample into steps, and generation runs that store each
sample once (generation)."""
