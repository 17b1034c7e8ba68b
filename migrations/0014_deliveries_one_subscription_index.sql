-- Issue 20, CPU per delivery: every row version of a delivery (stored, leased, finished) is a
-- non-HOT update (status, next_attempt_at and the lease are indexed), so each version puts an
-- entry into every index whose predicate it meets. 0005's deliveries_by_subscription
-- (subscription_id, id DESC) duplicates 0008's (subscription_id, status, id DESC) for everything
-- but the admin listing of all statuses, newest first: that listing now reads one range of 0008's
-- index per status and merges them (src/db/delivery-queries.ts), so three index entries per
-- delivery go. The foreign key's lookups (a subscription's deliveries) use 0008's index too.
--
-- Both statements take ACCESS EXCLUSIVE on deliveries, which old nodes of a rolling upgrade keep
-- writing (the store statement inserts deliveries): as in 0012, a queued lock request would block
-- them for as long as it waits, so it waits 5 s at most, then this migration rolls back whole
-- and is retried (docs/database.md).
SET LOCAL lock_timeout = '5s';
DROP INDEX deliveries_by_subscription;

-- That listing names the statuses: a row with any other status would not be listed. The code
-- writes only these four; the check keeps it so. NOT VALID: checked for new and updated rows,
-- without a scan of the rows there are (they were written by the same code).
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_known
  CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')) NOT VALID;
