-- A node without a dispatcher thread asks every second whether any subscription exists
-- (src/pipeline/dispatcher-on-demand.ts): with this index that is one probe of an index that is
-- empty while the answer is no, however many deleted subscriptions the table keeps.
CREATE INDEX subscriptions_live ON subscriptions (id) WHERE status <> 'deleted';
