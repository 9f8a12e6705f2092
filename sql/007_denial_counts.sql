-- Denied requests are audited as counts (issue 12): one audit_log row per client address
-- (or token) and status per flush period, with the number of requests it stands for.
-- Ordinary rows (writes, authenticated refusals) keep count 1.
ALTER TABLE audit_log ADD COLUMN count integer NOT NULL DEFAULT 1 CHECK (count > 0);
