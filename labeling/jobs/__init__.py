"""Jobs: the machinery that background imports and exports share (background): the job row the API polls, the
Celery task sent by name once the row is committed (`labeling.tasks.*`, the wire contract with the workers), and
running it at most once at a time however often it is delivered. What a job does is in its own room:
labeling.imports.uploads and labeling.exports.downloads."""
