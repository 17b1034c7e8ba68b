-- The admin API (src/db/delivery-queries.ts): a subscription's deliveries filtered by status,
-- newest first, and its pending/failed counts, without walking every delivery it ever had.
CREATE INDEX deliveries_by_subscription_status ON deliveries (subscription_id, status, id DESC);

-- Retention (src/db/delivery-retention.ts): completed deliveries leave after SLUICE_RETENTION_DAYS
-- like the events they delivered, oldest first.
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE status <> 'pending';
