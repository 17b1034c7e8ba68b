-- 0005's deliveries_due (next_attempt_at of every pending delivery) misled the planner: with few
-- retries waiting it walked that index through the whole due backlog once per subscription,
-- filtering by subscription, in the claim's retry share and msUntilDue's retry probe (100 ms
-- each with 5,000 due over 50 subscriptions, growing with the backlog) instead of the exact
-- (subscription_id, next_attempt_at) indexes of 0007. Those serve every query of due deliveries
-- now (dueBacklog too), and each claim and result write has one index less to maintain.
DROP INDEX deliveries_due;
