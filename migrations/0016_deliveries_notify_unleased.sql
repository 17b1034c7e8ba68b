-- First attempts leased by the store statement (src/dispatcher/first-leases.ts): a delivery made
-- leased to this node's dispatcher is handed to it directly, and no other node can claim it
-- until its lease ends. Waking every node's dispatcher for it would only make them all claim
-- for nothing, so the notification is sent when a statement made a delivery no one leased.
-- CREATE OR REPLACE keeps the trigger (0005) and takes no lock on deliveries.
CREATE OR REPLACE FUNCTION sluice_deliveries_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM created WHERE lease_owner IS NULL) THEN
    PERFORM pg_notify('sluice_deliveries', '');
  END IF;
  RETURN NULL;
END $$;
