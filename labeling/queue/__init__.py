"""The annotator's side: claiming the next task (claims), screening new annotators, drafts and
submits of a pass (submission), and what an annotator is shown of a task (payloads)."""
