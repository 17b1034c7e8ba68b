-- last_failed_at is the keyset cursor of dead-letter listings (and of a redrive's rounds), and
-- clients carry it as JavaScript dates, in milliseconds. Sluice writes it truncated to the
-- millisecond from now on; this truncates the rows written before, so no cursor skips one.
UPDATE dead_letters SET last_failed_at = date_trunc('milliseconds', last_failed_at);
