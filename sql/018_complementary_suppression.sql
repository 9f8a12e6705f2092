-- Small cohorts (SPEC §8): complementary (secondary) suppression becomes the trust's choice,
-- off by default. Off, a cell of fewer than min_cohort pupils is withheld from everyone but
-- its school, as SPEC §8 says, and every cell of min_cohort or more is shown; such a cell
-- can sometimes be worked out by subtracting the shown parts from a shown total. On, the
-- cells that would let it be worked out are withheld too, as the DfE's published statistics
-- do, with the priorities resting on them (docs/priorities.md, "Small cohorts"). A change
-- is an UPDATE of priority_thresholds, whose triggers (sql/003) bump the trust's data
-- version: cached priorities and their ETags follow it as they follow min_cohort.
ALTER TABLE priority_thresholds
    ADD COLUMN complementary_suppression boolean NOT NULL DEFAULT false;
