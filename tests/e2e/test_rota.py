"""Triad rotas over TLS: drafting from the stored schools and history, publishing (409 over a
published term), a school's triads, review reports written only by the other members, review
actions in the monitoring schedule, the offline planner's errors, and the scheduler drafting
exactly once with two matd instances on one database."""
import itertools
import json
import os
import subprocess
import tempfile
import time
import unittest

import harness
import openapi_check
from harness import Matd

REVIEW = {"framework": "ofsted_2025", "review_date": "2026-11-20",
          "summary": "A school with a clear picture of its writing gap.",
          "findings": {"achievement": {"grade": "needs_attention", "narrative": "KS2 writing below national."}},
          "actions": [{"ref": "A1", "action": "Moderate Y6 writing with the triad",
                       "owner": "J. Patel", "due": "2027-02-12", "status": "not_started"}]}
TERMS = [{"year": "2026-27", "term": "autumn"}, {"year": "2026-27", "term": "spring"}]


class Rotas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_rota"))
        cls.m.matctl("demo", "load")
        cls.admin = cls.m.token("admin")
        cls.ceo = cls.m.token("ceo")
        cls.urns = ["1400%02d" % i for i in range(1, 13)]
        cls.checker = openapi_check.Checker()

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def req(self, method, path, body=None, token=None):
        r = self.m.request(method, path, body, token=token or self.ceo)
        self.checker.check(method, path, r)  # every answer conforms to proto/openapi.yaml
        return r

    def draft(self, terms=TERMS, **kw):
        r = self.req("POST", "/v1/rotas", dict({"terms": terms, "seed": 7}, **kw))
        self.assertEqual(r.status, 201, r)
        return r.json

    def test_demo_rota_is_published(self):
        listed = self.req("GET", "/v1/rotas").json["items"]
        published = [x for x in listed if x["status"] == "published"
                     and x["terms"][0] == {"year": "2025-26", "term": "autumn"}]
        self.assertEqual(len(published), 1)
        school = self.m.token("school", ["140003"])
        mine = self.req("GET", "/v1/schools/140003/triads", token=school).json["items"]
        self.assertEqual(len([x for x in mine if x["year"] == "2025-26"]), 3)

    def test_draft_covers_every_school_once_per_term(self):
        rota = self.draft(constraints={"phase": "prefer", "balance": True, "travel_weight": 1,
                                       "decay": 6, "excluded_pairs": [["140001", "140002"]]})
        self.assertEqual(rota["status"], "draft")
        self.assertEqual([(t["year"], t["term"]) for t in rota["terms"]],
                         [("2026-27", "autumn"), ("2026-27", "spring")])
        for term in rota["terms"]:
            members = [u for t in term["triads"] for u in t["members"]]
            self.assertEqual(sorted(members), self.urns)
            for t in term["triads"]:
                self.assertIn(len(t["members"]), (3, 4))
                self.assertIn(t["host"], t["members"])
                self.assertFalse({"140001", "140002"} <= set(t["members"]))
        # repeat_pairs recomputes: pairs of the new terms that already met, in the published
        # history (the demo's 2025-26 rota) or earlier in this plan.
        history = [self.req("GET", "/v1/rotas/%d" % x["id"]).json
                   for x in self.req("GET", "/v1/rotas").json["items"] if x["status"] == "published"]
        seen = {frozenset((a, b)) for h in history for term in h["terms"] for t in term["triads"]
                for a in t["members"] for b in t["members"] if a < b}
        repeats = 0
        for term in rota["terms"]:
            pairs = {frozenset((a, b)) for t in term["triads"] for a in t["members"]
                     for b in t["members"] if a < b}
            repeats += len(pairs & seen)
            seen |= pairs
        self.assertEqual(rota["metrics"]["repeat_pairs"], repeats)
        got = self.req("GET", "/v1/rotas/%d" % rota["id"]).json
        self.assertEqual(got, rota)
        listed = self.req("GET", "/v1/rotas").json["items"]
        self.assertIn(rota["id"], [x["id"] for x in listed])

    def test_explain_recomputed_from_stored_triads(self):
        # Six terms for 12 schools (the run is 4): the last two repeat, so every figure is
        # exercised; the history is every published rota's triads before its first term.
        terms = [{"year": y, "term": t} for y in ("2029-30", "2030-31")
                 for t in ("autumn", "spring", "summer")]
        rota = self.draft(terms)
        r = self.req("GET", "/v1/rotas/%d/explain" % rota["id"])
        self.assertEqual(r.status, 200, r)
        ex = r.json

        def ti(y, t):
            return int(y[:4]) * 3 + ("autumn", "spring", "summer").index(t)

        first = ti(*terms[0].values())
        met = []  # (timeline index, members, host)
        for x in self.req("GET", "/v1/rotas?limit=1000").json["items"]:
            if x["status"] != "published" or x["id"] == rota["id"]:
                continue
            # (every published rota explains, in the documented shape: the checker in req)
            self.assertEqual(self.req("GET", "/v1/rotas/%d/explain" % x["id"]).status, 200)
            for term in self.req("GET", "/v1/rotas/%d" % x["id"]).json["terms"]:
                if ti(term["year"], term["term"]) < first:
                    met += [(ti(term["year"], term["term"]), set(t["members"]), t["host"])
                            for t in term["triads"]]
        self.assertTrue(met, "the demo's published year is history")
        mine = [(ti(term["year"], term["term"]), set(t["members"]), t["host"])
                for term in rota["terms"] for t in term["triads"]]
        met += mine
        # the next host turn also looks at the kept cycle's terms after the rota's last
        stored = json.loads(self.m.psql("SELECT cycle::text FROM rotas WHERE id = %d" % rota["id"]))
        last = max(k for k, _, _ in mine)
        later = [(ti(c["year"], c["term"]), set(g["members"]), g["host"])
                 for c in stored["terms"] for g in c["groups"] if ti(c["year"], c["term"]) > last]
        self.assertTrue(later)
        self.assertEqual([(t["year"], t["term"]) for t in ex["terms"]],
                         [(t["year"], t["term"]) for t in terms])
        self.assertEqual(ex["planner"]["mode"], "searched")
        self.assertEqual(ex["planner"]["cycle_terms"], 4)
        # the cycle kept: two windows of four terms from the first term asked for
        self.assertEqual(ex["planner"]["cycle"], terms + [{"year": "2031-32", "term": t}
                                                          for t in ("autumn", "spring")])
        self.assertEqual(ex["planner"]["cycle"],
                         [{"year": c["year"], "term": c["term"]} for c in stored["terms"]])
        self.assertEqual([(t["cycle_window"], t["cycle_term"]) for t in ex["terms"]],
                         [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2)])
        recent = []
        for term, got in zip(rota["terms"], ex["terms"]):
            now = ti(term["year"], term["term"])
            before = [(k, g) for k, g, _ in met if k < now]
            repeats, ago = 0, []
            for t in term["triads"]:
                for a in t["members"]:
                    for b in t["members"]:
                        when = [k for k, g in before if a < b and a in g and b in g]
                        if when:
                            repeats += 1
                            ago.append(now - max(when))
            self.assertEqual(got["metrics"]["repeat_pairs"], repeats, term)
            self.assertEqual(got["metrics"]["most_recent_repeat_terms_ago"], min(ago) if ago else None)
            recent += ago
            schools = {s["urn"]: s for s in got["schools"]}
            self.assertEqual(sorted(schools), self.urns)
            for t in term["triads"]:
                for u in t["members"]:
                    s = schools[u]
                    self.assertEqual((s["triad"], s["role"]),
                                     (t["triad"], "host" if u == t["host"] else "reviewer"))
                    want = []
                    for p in sorted(t["members"]):
                        if p != u:
                            when = [k for k, g in before if u in g and p in g]
                            want.append({"urn": p, "last_met_terms_ago": now - max(when) if when else None})
                    self.assertEqual(s["partners"], want, (term, u))
                    hosted = [k for k, _, h in met if h == u and k < now]
                    ahead = [k for k, _, h in mine + later if h == u and k > now]
                    self.assertEqual(s["last_hosted_terms_ago"], now - max(hosted) if hosted else None)
                    self.assertEqual(s["hosts_next_terms_ahead"], min(ahead) - now if ahead else None)
        self.assertTrue(recent, "planning past the run repeats")
        self.assertEqual(ex["metrics"]["most_recent_repeat_terms_ago"], min(recent))
        self.assertEqual(self.req("GET", "/v1/rotas/999999/explain").status, 404)
        self.assertEqual(self.req("GET", "/v1/rotas/x/explain").status, 404)
        school = self.m.token("school", ["140001"])
        self.assertEqual(self.req("GET", "/v1/rotas/%d/explain" % rota["id"], token=school).status, 403)

    def test_publish_and_conflict(self):
        terms = [{"year": "2027-28", "term": "autumn"}]
        first, second = self.draft(terms), self.draft(terms)
        r = self.req("POST", "/v1/rotas/%d/publish" % first["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "published")
        r = self.req("POST", "/v1/rotas/%d/publish" % second["id"])
        self.assertEqual(r.status, 409, r)
        self.assertEqual(self.req("GET", "/v1/rotas/%d" % second["id"]).json["status"], "draft")
        self.assertEqual(self.req("POST", "/v1/rotas/999999/publish").status, 404)
        school = self.m.token("school", ["140001"])
        self.assertEqual(self.req("POST", "/v1/rotas", {"terms": terms}, token=school).status, 403)

    def test_bad_drafts(self):
        for body, path in (({"terms": [{"year": "2026", "term": "autumn"}]}, "/terms/0/year"),
                           ({"terms": [{"year": "2026-27", "term": "winter"}]}, "/terms/0/term"),
                           ({"terms": []}, "/terms"),
                           ({"terms": TERMS, "constraints": {"phase": "always"}}, "/constraints/phase"),
                           ({"terms": TERMS, "colour": 1}, "/colour")):
            r = self.req("POST", "/v1/rotas", body)
            self.assertEqual(r.status, 422, (body, r))
            self.assertIn(path, [e["path"] for e in r.json["errors"]])

    def test_triads_and_reviews(self):
        rota = self.draft([{"year": "2028-29", "term": "autumn"}])
        triad = rota["terms"][0]["triads"][0]
        focus = triad["host"]
        reviewer = [u for u in triad["members"] if u != focus][0]
        outsider = [u for u in self.urns if u not in triad["members"]][0]
        path = "/v1/rotas/%d/triads/%d/reviews/%s" % (rota["id"], triad["triad"], focus)
        t_reviewer = self.m.token("school", [reviewer])
        self.assertEqual(self.req("PUT", path, REVIEW, token=t_reviewer).status, 404)  # draft: unseen
        self.assertEqual(self.req("POST", "/v1/rotas/%d/publish" % rota["id"]).status, 200)
        mine = self.req("GET", "/v1/schools/%s/triads" % reviewer, token=t_reviewer).json["items"]
        self.assertTrue(any(x["rota_id"] == rota["id"] and x["role"] == "reviewer" for x in mine))
        self.assertEqual(self.req("GET", "/v1/schools/%s/triads" % outsider, token=t_reviewer).status, 403)
        self.assertEqual(self.req("PUT", path, REVIEW, token=self.m.token("school", [outsider])).status, 404)
        self.assertEqual(self.req("PUT", path, REVIEW, token=self.m.token("school", [focus])).status, 403)
        r = self.req("PUT", path, REVIEW, token=t_reviewer)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["version"], 1)
        bad = dict(REVIEW, actions=[dict(REVIEW["actions"][0], status="someday")])
        r = self.req("PUT", path, bad, token=t_reviewer)
        self.assertEqual(r.status, 422)
        self.assertIn("/actions/0/status", [e["path"] for e in r.json["errors"]])
        got = self.req("GET", path, token=self.m.token("school", [focus]))
        self.assertEqual(got.status, 200)
        self.assertEqual(got.json["report"]["summary"], REVIEW["summary"])
        items = self.req("GET", "/v1/monitoring?school=%s&limit=1000" % focus).json["items"]
        actions = [i for i in items if i["source"] == "review_action"]
        self.assertEqual([a["description"] for a in actions], [REVIEW["actions"][0]["action"]])
        head = self.m.token("executive_head", [focus])
        self.assertEqual(self.req("PUT", path, REVIEW, token=head).status, 201)
        self.assertEqual(self.req("PUT", path.replace(focus, outsider), REVIEW).status, 404)


class Replan(unittest.TestCase):
    def test_school_joins_and_leaves(self):
        m = Matd(harness.fresh_database("e2e_replan"))
        try:
            m.matctl("demo", "load")
            admin = m.token("admin")
            checker = openapi_check.Checker()

            def req(method, path, body=None):
                r = m.request(method, path, body, token=admin)
                checker.check(method, path, r)
                return r

            terms = [{"year": "2027-28", "term": "autumn"}, {"year": "2027-28", "term": "spring"}]
            rota = req("POST", "/v1/rotas", {"terms": terms, "seed": 3}).json
            self.assertEqual(req("POST", "/v1/rotas/%d/publish" % rota["id"]).status, 200)
            # 140012 leaves, 140013 joins.
            self.assertEqual(req("PATCH", "/v1/schools/140012", {"left_on": "2026-08-31"}).status, 200)
            self.assertEqual(req("POST", "/v1/schools", {"urn": "140013", "name": "Meadow Academy",
                                                         "phase": "primary"}).status, 201)
            r = req("POST", "/v1/rotas/%d/replan" % rota["id"])
            self.assertEqual(r.status, 201, r)
            new = r.json
            self.assertEqual((new["source"], new["status"], new["replaces"]), ("replan", "draft", rota["id"]))
            active = sorted(["1400%02d" % i for i in range(1, 12)] + ["140013"])
            for term, before in zip(new["terms"], rota["terms"]):
                self.assertEqual(sorted(u for t in term["triads"] for u in t["members"]), active)
                old = {frozenset(t["members"]) for t in before["triads"]}
                kept = sum(frozenset(t["members"]) in old for t in term["triads"])
                change = [c for c in new["changes"] if c["term"] == term["term"]][0]
                self.assertEqual(change["kept_triads"], kept)
                # One school left and one joined: only the triad that lost a member changes.
                self.assertEqual(kept, len(term["triads"]) - 1)
                self.assertEqual(change["joined"], ["140013"])
                self.assertEqual(change["left"], ["140012"])
            self.assertEqual(req("POST", "/v1/rotas/999999/replan").status, 404)
            bad = req("POST", "/v1/rotas/%d/replan?seed=soon" % rota["id"])
            self.assertEqual(bad.status, 422)
            self.assertEqual(bad.json["errors"][0]["path"], "seed")
            past = req("GET", "/v1/rotas").json["items"]
            demo = [x for x in past if x["terms"] and x["terms"][0]["year"] == "2025-26"][0]
            self.assertEqual(req("POST", "/v1/rotas/%d/replan" % demo["id"]).status, 409)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_draft_plans_the_schools_of_its_term(self):
        """A draft plans the schools in the trust when its first term starts, not today's: one
        leaving at Easter is in the spring term's triads and not the summer's, one joining in
        January in the spring's and not the autumn's."""
        m = Matd(harness.fresh_database("e2e_term_schools"))
        try:
            m.matctl("demo", "load")
            admin = m.token("admin")

            def req(method, path, body=None):
                return m.request(method, path, body, token=admin)

            dates = {"autumn": "2027-09-02", "spring": "2028-01-04", "summer": "2028-04-18"}
            self.assertEqual(req("PUT", "/v1/terms/2027-28", dates).status, 200)
            self.assertEqual(req("PATCH", "/v1/schools/140005", {"left_on": "2028-03-31"}).status,
                             200)
            self.assertEqual(req("POST", "/v1/schools", {"urn": "140014", "name": "Brook Academy",
                                                         "phase": "primary",
                                                         "joined_on": "2028-01-04"}).status, 201)
            for term, have, lack in (("autumn", "140005", "140014"),
                                     ("spring", "140005", None),
                                     ("summer", "140014", "140005")):
                r = req("POST", "/v1/rotas", {"terms": [{"year": "2027-28", "term": term}]})
                self.assertEqual(r.status, 201, r)
                urns = {u for t in r.json["terms"][0]["triads"] for u in t["members"]}
                self.assertIn(have, urns, term)
                if lack:
                    self.assertNotIn(lack, urns, term)
                if term == "spring":
                    self.assertIn("140014", urns)
        finally:
            self.assertEqual(m.stop(), 0)


class KeptCycle(unittest.TestCase):
    """Term by term = all at once: POST /v1/rotas for one term at a time (each published before
    the next) drafts the terms of the cycle kept with the first rota, the same triads and hosts
    as `matctl rota plan` gives for all the terms at once on the same input."""

    def test_term_by_term_drafts_the_kept_cycle(self):
        m = Matd(harness.fresh_database("e2e_cycle"))
        try:
            m.matctl("demo", "load")
            admin = m.token("admin")
            checker = openapi_check.Checker()
            trust = m.psql("SELECT min(id) FROM trusts")
            # (after the demo's cycle, which runs into 2026-27)
            terms = [{"year": "2028-29", "term": t} for t in ("autumn", "spring", "summer")] + \
                    [{"year": "2029-30", "term": "autumn"}]
            # All at once, offline, on the planner input the database gives before any draft.
            doc = m.psql("SELECT rota_planner_input_base(%s, '%s'::jsonb, NULL, 7)::text"
                         % (trust, json.dumps(terms)))
            f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            f.write(doc)
            f.close()
            out = subprocess.run([harness.MATCTL, "rota", "plan", "--input", f.name],
                                 capture_output=True, text=True)
            os.unlink(f.name)
            self.assertEqual(out.returncode, 0, out.stderr)
            at_once = json.loads(out.stdout)
            self.assertEqual(at_once["planner"]["cycle_terms"], 4)
            modes = []
            for term, planned in zip(terms, at_once["terms"]):
                r = m.request("POST", "/v1/rotas", {"terms": [term], "seed": 7}, token=admin)
                checker.check("POST", "/v1/rotas", r)
                self.assertEqual(r.status, 201, r)
                got = {(frozenset(t["members"]), t["host"]) for t in r.json["terms"][0]["triads"]}
                want = {(frozenset(g["members"]), g["host"]) for g in planned["groups"]}
                self.assertEqual(got, want, term)
                modes.append(m.psql("SELECT plan->'planner'->>'mode' FROM rotas WHERE id = %d"
                                    % r.json["id"]))
                r = m.request("POST", "/v1/rotas/%d/publish" % r.json["id"], token=admin)
                self.assertEqual(r.status, 200, r)
            # planned once (the history is the demo's year), then drafted from the kept cycle
            self.assertEqual(modes, ["searched", "kept", "kept", "kept"])
        finally:
            self.assertEqual(m.stop(), 0)


class SchedulerYears(unittest.TestCase):
    """Two instances with the scheduler on and a fixed clock moved term by term across two
    years for a 15-school and a 20-school trust, each draft published before the next term:
    exactly one draft per term across both, the drafts are the kept cycle (no pair meets twice
    in the six terms: the run is 7 for both), and a school that joins in year two changes only
    the triads it must: for 15 (5 triads, 16 = a four and four threes) the one it joins; for
    20 (four threes and two fours, 21 = seven threes) the two fours, which with the newcomer
    become three triads. The join re-plans the rest of the cycle once (its first term is the
    draft) and the next terms are drafted from that re-planned cycle, so no pair of the old
    schools meets twice: a term re-planned alone once put two schools together whom the next
    term's kept triad held again."""

    STARTS = [("2026-27", "autumn", "2026-08-25"), ("2026-27", "spring", "2026-12-22"),
              ("2026-27", "summer", "2027-04-05"), ("2027-28", "autumn", "2027-08-25"),
              ("2027-28", "spring", "2027-12-22"), ("2027-28", "summer", "2028-04-05")]

    def test_two_years_term_by_term_15(self):
        self.two_years(15)

    def test_two_years_term_by_term_20(self):
        self.two_years(20)

    def two_years(self, n):
        db = harness.fresh_database("e2e_years%d" % n)
        first = Matd(db)
        admin = first.token("admin")
        for i in range(n):
            body = harness.school_body("15%04d" % i, lat=52.0 + i / 50, lon=-1.5 - i / 50)
            self.assertEqual(first.request("POST", "/v1/schools", body, token=admin).status, 201)
        self.assertEqual(first.stop(), 0)
        drafts = []
        for k, (year, term, today) in enumerate(self.STARTS):
            if k == 3:  # year two: a school joins
                m = Matd(db)
                r = m.request("POST", "/v1/schools", harness.school_body("159999"), token=admin)
                self.assertEqual(r.status, 201, r)
                self.assertEqual(m.stop(), 0)
            cfg = "[rota]\nlead_days = 21\ncheck_interval_s = 1\nscheduler_now = %s\n" % today
            a, b = Matd(db, extra_config=cfg), Matd(db, extra_config=cfg)
            try:
                deadline = time.time() + 60
                while time.time() < deadline and a.psql(
                        "SELECT count(*) FROM scheduler_runs WHERE year = '%s' AND term = '%s'"
                        % (year, term)) == "0":
                    time.sleep(0.3)
                time.sleep(3)  # both instances look again several times before they stop
                rows = a.psql("SELECT id, plan->'planner'->>'mode' FROM rotas "
                              "WHERE source = 'scheduler' ORDER BY id").splitlines()
                self.assertEqual(len(rows), k + 1, "exactly one draft per term")
                rid, mode = rows[-1].split("|")
                # the trust publishes the draft before the term (its triads become history)
                r = b.request("POST", "/v1/rotas/%s/publish" % rid, token=admin)
                self.assertEqual(r.status, 200, r)
            finally:
                self.assertEqual(b.stop(), 0)
                self.assertEqual(a.stop(), 0)
            plan = json.loads(a.psql("SELECT plan::text FROM rotas WHERE id = %s" % rid))
            self.assertEqual((plan["terms"][0]["year"], plan["terms"][0]["term"]), (year, term))
            drafts.append((mode, [frozenset(g["members"]) for g in plan["terms"][0]["groups"]]))
        self.assertEqual(a.psql("SELECT count(*) FROM scheduler_runs"), "6")
        self.assertEqual([m for m, _ in drafts], ["cycle", "kept", "kept", "re-plan", "kept", "kept"])
        # the run: no pair of schools together twice in the six drafted terms
        met = {}
        for k, (_, groups) in enumerate(drafts):
            for g in groups:
                for x in g:
                    for y in g:
                        if x < y:
                            met.setdefault((x, y), []).append(k)
        again = {p: ks for p, ks in met.items() if len(ks) > 1}
        self.assertEqual({p: ks for p, ks in again.items() if "159999" not in p}, {},
                         [(m, sorted(map(sorted, g))) for m, g in drafts])
        # the join: the kept cycle's triads for year two stay but those the newcomer forces to
        # change (15: the triad it joins; 20: the two fours, since 21 schools are seven threes)
        cycle = json.loads(a.psql("SELECT cycle::text FROM rotas WHERE source = 'scheduler' "
                                  "ORDER BY id LIMIT 1"))
        for (mode, groups), (year, term, _) in zip(drafts[3:], self.STARTS[3:]):
            planned = [frozenset(g["members"]) for t in cycle["terms"]
                       if (t["year"], t["term"]) == (year, term) for g in t["groups"]]
            self.assertEqual(len(planned), {15: 5, 20: 6}[n])
            gone = [g for g in planned if g not in groups]
            new = [g for g in groups if g not in planned]
            self.assertEqual(len(gone), {15: 1, 20: 2}[n], (year, term))
            self.assertEqual(frozenset().union(*new), frozenset().union(*gone) | {"159999"})
            if n == 15:
                self.assertEqual([len(g) for g in new], [4])
                self.assertIn(new[0] - {"159999"}, planned)
            else:
                self.assertEqual(sorted(len(g) for g in gone), [4, 4])
                self.assertEqual([len(g) for g in new], [3, 3, 3])
        if n != 15:
            return
        # the newcomer meets schools again as little as the kept triads allow: over the
        # re-planned rest of the cycle (the re-plan's kept cycle), the cost of its repeats
        # (SPEC §7: a pair that met t terms ago costs 2^(-(t-1)/6)) is the least of any choice of
        # one kept triad to join per term
        replan_id = a.psql("SELECT id FROM rotas WHERE source = 'scheduler' "
                           "AND plan->'planner'->>'mode' = 're-plan'")
        rest = json.loads(a.psql("SELECT cycle::text FROM rotas WHERE id = %s" % replan_id))
        order = [(t["year"], t["term"]) for t in rest["terms"]]
        joined = [[frozenset(g["members"]) - {"159999"} for g in t["groups"]
                   if "159999" in g["members"]][0] for t in rest["terms"]]
        options = [[frozenset(g["members"]) for t in cycle["terms"] if (t["year"], t["term"]) == w
                    for g in t["groups"]] for w in order]
        self.assertTrue(all(j in o for j, o in zip(joined, options)), (joined, options))

        def cost(choice):
            last, c = {}, 0.0
            for k, g in enumerate(choice):
                for x in g:
                    if x in last:
                        c += 2 ** (-(k - last[x] - 1) / 6)
                    last[x] = k
            return c

        best = min(cost(choice) for choice in itertools.product(*options))
        self.assertAlmostEqual(cost(joined), best, places=6, msg=(joined, best))


class OfflinePlanner(unittest.TestCase):
    def plan(self, doc):
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
        f.close()
        out = subprocess.run([harness.MATCTL, "rota", "plan", "--input", f.name],
                             capture_output=True, text=True)
        os.unlink(f.name)
        return out

    def schools(self, n):
        return [{"urn": "1000%02d" % i, "phase": "primary"} for i in range(1, n + 1)]

    def test_plan_and_errors(self):
        ok = self.plan({"schools": self.schools(9), "terms": TERMS, "seed": 1})
        self.assertEqual(ok.returncode, 0, ok.stderr)
        plan = json.loads(ok.stdout)
        self.assertEqual(len(plan["terms"]), 2)
        self.assertIn("hosting_spread", plan["metrics"])
        cases = [
            ({"schools": self.schools(2), "terms": TERMS}, "at least 3"),
            ({"schools": self.schools(5) + [{"urn": "100001"}], "terms": TERMS}, "/schools/5/urn"),
            ({"schools": self.schools(6), "terms": TERMS, "history": [{"year": "2024-25", "term": "summer",
              "groups": [{"members": ["100001", "100002", "999999"], "host": "100001"}]}]}, "999999"),
            ('{"schools": [', "not a JSON object"),
        ]
        for doc, needle in cases:
            out = self.plan(doc)
            self.assertEqual(out.returncode, 2, out)
            self.assertIn(needle, out.stderr)


class Scheduler(unittest.TestCase):
    def test_two_instances_draft_exactly_once(self):
        db = harness.fresh_database("e2e_scheduler")
        # "Today" is 20 Aug 2026: the autumn term (1 Sep by default) is 12 days away.
        cfg = "[rota]\nlead_days = 21\ncheck_interval_s = 1\nscheduler_now = 2026-08-20\n"
        a = Matd(db, extra_config=cfg)
        a.matctl("demo", "load")
        b = Matd(db, extra_config=cfg)
        try:
            deadline = time.time() + 20
            rows = "0"
            while time.time() < deadline:
                rows = a.psql("SELECT count(*) FROM rotas WHERE source = 'scheduler'")
                if rows != "0":
                    break
                time.sleep(0.3)
            time.sleep(3)  # both instances have looked several times since
            self.assertEqual(a.psql("SELECT count(*) FROM rotas WHERE source = 'scheduler'"), "1")
            self.assertEqual(a.psql("SELECT year || ' ' || term FROM scheduler_runs"), "2026-27 autumn")
            admin = a.token("admin")
            listed = b.request("GET", "/v1/rotas", token=admin).json["items"]
            self.assertEqual([(x["source"], x["status"]) for x in listed if x["source"] == "scheduler"],
                             [("scheduler", "draft")])
            metrics = a.request("GET", "/metrics").body.decode() + b.request("GET", "/metrics").body.decode()
            runs = sum(int(l.split()[1]) for l in metrics.splitlines() if l.startswith("matd_rota_runs_total"))
            self.assertEqual(runs, 1)
            # The demo's published rota for this year is the history the new draft avoids.
            self.assertEqual(a.psql("SELECT count(*) FROM rotas WHERE status = 'published'"), "1")
        finally:
            self.assertEqual(b.stop(), 0)
            self.assertEqual(a.stop(), 0)


if __name__ == "__main__":
    harness.main()
