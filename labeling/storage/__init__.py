"""Storage helpers under the services, on no other part of labeling: bulk inserts (bulk: PostgreSQL COPY and
one-array lookups), model instances from hand-written SQL on the annotator path (rows) and the content hashes that
identify problems, solutions and passes across imports (hashing), and a row made once under its key (keyed: how
runs start). Pure of the models: they take a model or plain
values, so formats and every service may use them."""
