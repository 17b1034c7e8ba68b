-- The admin API lists events newest first, optionally for one source, a page at a time with a
-- keyset cursor (received_at, source, id). These indexes let a page be read from the top of
-- each partition's index instead of sorting a partition: a page stays a few index pages however
-- many rows a day holds. Created on the parent, so every partition gets its own copy.
CREATE INDEX events_recent_first ON events (received_at DESC, source DESC, id DESC);
CREATE INDEX events_source_recent_first ON events (source, received_at DESC, id DESC);
