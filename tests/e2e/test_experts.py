"""Experts, deployments and moderation (SPEC 6.7) on the demo trust: bad bodies are 422s
naming the field with nothing written; scopes on every route; the proposed deployment
never exceeds a capacity, never sends an expert home, only fits, and obeys the rule that a
school's top priority is served before any school's second (checked here from the
expertise and the priorities, not from the product's objective); publishing records the
plan and a re-run keeps what still fits; moderation groups never moderate their own."""
import unittest

import harness
import openapi_check

YEAR, TERM = "2025-26", "spring"
Q = "?year=%s&term=%s" % (YEAR, TERM)


def expert(**kw):
    body = {"role": "sle", "name": "Test Expert", "home_urn": "140004",
            "expertise": {"subjects": ["writing", "reading"], "sef_areas": ["achievement"],
                          "phases": ["primary"], "groups": ["disadvantaged"]},
            "days_per_term": 4}
    body.update(kw)
    return body


def fits(e, it):
    if it["urn"] == e["home_urn"]:
        return False
    x = e["expertise"]
    if it["kind"] == "sef":
        if it["area"] not in x["sef_areas"]:
            return False
    elif it.get("subject") not in x["subjects"]:
        return False
    return it["group"] in (None, "all") or it["group"] in x["groups"]


class Experts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_demo_trust(cls, "e2e_experts")
        cls.checker = openapi_check.Checker()

    @classmethod
    def tearDownClass(cls):
        assert cls.a.stop() == 0

    def call(self, method, path, body=None, token=None, expect=None):
        r = self.a.request(method, path, body, token=token or self.ceo)
        self.checker.check(method, path, r)
        if expect is not None:
            self.assertEqual(r.status, expect, "%s %s: %r" % (method, path, r))
        return r

    def experts(self, token=None):
        return self.call("GET", "/v1/experts?limit=1000", token=token, expect=200).json["items"]

    def rows(self):
        return self.a.psql("SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM experts")

    def test_pages_follow_cursors_over_text_ids(self):
        """Expert ids are text: paging one at a time visits every expert once, in order."""
        everyone = [e["id"] for e in self.experts()]
        self.assertGreater(len(everyone), 3)
        seen, cursor = [], None
        while True:
            r = self.call("GET", "/v1/experts?limit=1" + ("&cursor=" + cursor if cursor else ""),
                          expect=200).json
            seen += [e["id"] for e in r["items"]]
            cursor = r["next_cursor"]
            if not cursor:
                break
            self.assertLessEqual(len(seen), len(everyone))
        self.assertEqual(seen, everyone)

    def test_bad_bodies_are_named_and_write_nothing(self):
        self.call("PUT", "/v1/experts/keep", expert(name="Kept As Is"), expect=201)
        before = self.rows()
        for body, path in (
            (expert(home_urn="999999"), "/home_urn"),
            (expert(days_per_term=-1), "/days_per_term"),
            (expert(days_per_term=61), "/days_per_term"),
            (expert(expertise={"subjects": ["knitting"]}), "/expertise/subjects/0"),
            (expert(expertise={"sef_areas": ["vibes"]}), "/expertise/sef_areas/0"),
            (expert(expertise={"groups": ["wizards"]}), "/expertise/groups/0"),
            (expert(expertise={"subjects": ["maths", "maths"]}), "/expertise/subjects/1"),
            (expert(id="another"), "/id"),
            (expert(role="guru"), "/role"),
            (dict(expert(), shoe_size=9), "/shoe_size"),
        ):
            for target in ("/v1/experts/fresh", "/v1/experts/keep"):
                r = self.call("PUT", target, body, expect=422)
                self.assertIn(path, [e["path"] for e in r.json["errors"]], (body, r.json))
        self.assertEqual(self.rows(), before, "nothing written")
        self.call("GET", "/v1/experts/fresh", expect=404)
        self.assertEqual(self.call("GET", "/v1/experts/keep").json["name"], "Kept As Is")
        self.call("PUT", "/v1/experts/bad%21id", expert(), expect=422)
        self.call("DELETE", "/v1/experts/keep", expect=204)
        self.call("DELETE", "/v1/experts/keep", expect=404)

    def test_write_and_read_scopes(self):
        self.call("PUT", "/v1/experts/scoped", expert(), token=self.school, expect=403)
        self.call("PUT", "/v1/experts/scoped", expert(), token=self.head, expect=403)
        r = self.call("PUT", "/v1/experts/scoped", expert(), token=self.admin, expect=201)
        self.assertEqual(r.json["days_per_term"], 4)
        r = self.call("PUT", "/v1/experts/scoped", expert(days_per_term=2), expect=200)
        self.assertEqual(r.json["days_per_term"], 2)
        self.assertIn("scoped", [e["id"] for e in self.experts(self.head)])
        self.call("GET", "/v1/experts/scoped", token=self.head, expect=200)
        self.call("DELETE", "/v1/experts/scoped", token=self.head, expect=403)
        # A school sees exactly the experts a published deployment sends to it.
        sent = set(self.a.psql("SELECT DISTINCT expert_id FROM deployments d JOIN experts e "
                               "ON e.id = d.expert_id WHERE d.urn = '140002'").split())
        self.assertEqual({e["id"] for e in self.experts(self.school)}, sent)
        self.call("GET", "/v1/experts/scoped", token=self.school, expect=404)
        self.call("DELETE", "/v1/experts/scoped", expect=204)

    def check_plan(self, plan, experts, items, optimal=True):
        """Capacity, fit, home school always; with optimal, the rules of the objective
        (a plan with kept assignments is optimal only around them)."""
        by_id = {e["id"]: e for e in experts}
        school_items = [i for i in items if i["level"] == "school"]
        top = {}
        for i in school_items:  # the list is score-ordered: the first is the school's top
            top.setdefault(i["schools"][0], i["id"])
        used = {}
        served = set()
        for a in plan["assignments"]:
            e = by_id[a["expert_id"]]
            it = {"urn": a["urn"], "kind": a["kind"], "area": a.get("area"),
                  "subject": a.get("subject"), "group": a["group"]}
            self.assertTrue(fits(e, it), a)
            self.assertNotEqual(a["urn"], e["home_urn"])
            used[e["id"]] = used.get(e["id"], 0) + 1
            self.assertNotIn(a["priority_id"], served, "a priority is served once")
            served.add(a["priority_id"])
        for eid, n in used.items():
            self.assertLessEqual(n, by_id[eid]["days_per_term"], eid)
        left = {e["id"]: e["days_per_term"] - used.get(e["id"], 0) for e in experts}
        assigned_to = {}
        for a in plan["assignments"]:
            assigned_to.setdefault(a["expert_id"], []).append(a["priority_id"])
        for i in school_items:
            if i["id"] in served or not optimal:
                continue
            it = {"urn": i["schools"][0], "kind": i["kind"], "area": i.get("area"),
                  "subject": i.get("subject"), "group": i["group"]}
            for e in experts:
                if not fits(e, it):
                    continue
                # Nobody who could serve it has a day left...
                self.assertEqual(left[e["id"]], 0, (i["id"], e["id"]))
                # ...and a school's top priority is never left for another's second.
                if top[it["urn"]] == i["id"]:
                    for pid in assigned_to.get(e["id"], []):
                        self.assertIn(pid, top.values(), (i["id"], e["id"], pid))
        self.assertEqual({u["priority_id"] for u in plan["unmet"]} | served,
                         {i["id"] for i in school_items})

    def test_deployment_rules_publish_and_keep(self):
        for i, (home, subjects, days) in enumerate((("140004", ["writing"], 3),
                                                    ("140008", ["reading", "maths"], 2),
                                                    ("140001", ["writing", "maths"], 1))):
            self.call("PUT", "/v1/experts/dep%d" % i,
                      expert(home_urn=home, days_per_term=days,
                             expertise={"subjects": subjects, "groups": ["disadvantaged"],
                                        "sef_areas": ["achievement"]}), expect=201)
        experts = self.experts()
        items = self.call("GET", "/v1/priorities" + Q).json["items"]
        plan = self.call("GET", "/v1/deployments" + Q, expect=200).json
        self.assertTrue(plan["assignments"])
        self.check_plan(plan, experts, items)
        r = self.call("POST", "/v1/deployments/%s/%s/publish" % (YEAR, TERM), expect=200)
        self.assertTrue(r.json["published_at"])
        stored = set(self.a.psql("SELECT priority_id || ':' || expert_id FROM deployments "
                                 "WHERE year = '%s' AND term = '%s'" % (YEAR, TERM)).split())
        self.assertEqual(stored, {a["priority_id"] + ":" + a["expert_id"] for a in r.json["assignments"]})
        again = self.call("GET", "/v1/deployments" + Q).json
        self.assertTrue(all(a["kept"] for a in again["assignments"]))
        # dep0 loses its days: its assignments go, the rest are kept.
        self.call("PUT", "/v1/experts/dep0", expert(home_urn="140004", days_per_term=0,
                                                     expertise={"subjects": ["writing"]}), expect=200)
        after = self.call("GET", "/v1/deployments" + Q).json
        self.assertNotIn("dep0", [a["expert_id"] for a in after["assignments"]])
        before_pairs = {(a["priority_id"], a["expert_id"]) for a in again["assignments"]
                        if a["expert_id"] != "dep0"}
        kept = {(a["priority_id"], a["expert_id"]) for a in after["assignments"] if a["kept"]}
        self.assertEqual(kept, before_pairs)
        self.check_plan(after, self.experts(), items, optimal=False)
        # Scopes: an executive head sees their schools' part; a school is refused.
        head = self.call("GET", "/v1/deployments" + Q, token=self.head, expect=200).json
        self.assertTrue(all(a["urn"] in ("140002", "140005") for a in head["assignments"] + head["unmet"]))
        self.assertEqual(head["capacity"], [])
        self.call("GET", "/v1/deployments" + Q, token=self.school, expect=403)
        self.call("POST", "/v1/deployments/%s/%s/publish" % (YEAR, TERM), token=self.head, expect=403)
        self.call("GET", "/v1/deployments?year=2025&term=spring", expect=422)
        self.call("POST", "/v1/deployments/2025-26/winter/publish", expect=422)
        for i in range(3):
            self.call("DELETE", "/v1/experts/dep%d" % i, expect=204)

    def test_moderation(self):
        r = self.call("GET", "/v1/moderation" + Q + "&subject=writing", expect=200).json
        experts = {e["id"]: e for e in self.experts()}
        pupils = dict(x.split("|") for x in self.a.psql(
            "SELECT urn || '|' || coalesce(pupils_on_roll, 0) FROM schools").split())
        seen = set(r["unassigned"])
        for g in r["groups"]:
            e = experts[g["moderator_id"]]
            self.assertEqual(e["role"], "moderator")
            self.assertIn("writing", e["expertise"]["subjects"])
            self.assertNotIn(e["home_urn"], g["schools"])
            self.assertEqual(g["pupils"], sum(int(pupils[u]) for u in g["schools"]))
            seen |= set(g["schools"])
        self.assertEqual(seen, set(pupils))
        self.call("GET", "/v1/moderation" + Q, token=self.head, expect=200)
        self.call("GET", "/v1/moderation" + Q, token=self.school, expect=403)
        self.call("GET", "/v1/moderation?year=2025-26", expect=422)


if __name__ == "__main__":
    harness.main()
