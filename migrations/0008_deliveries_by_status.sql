-- The admin API (src/db/delivery-queries.ts): a subscription's deliveries filtered by status,
-- newest first, and its pending/failed counts, without walking every delivery it ever had.
CREATE INDEX deliveries_by_subscription_status ON deliveries (subscription_id, status, id DESC);
