"""Request bodies the end-to-end tests send, as SPEC §11 shows them. Due dates are relative
to today, so a milestone that must be overdue stays overdue and one that must lie ahead
stays ahead, whatever day the suite runs."""
import datetime

_TODAY = datetime.date.today()
PAST_DUE = (_TODAY - datetime.timedelta(days=14)).isoformat()    # overdue unless complete
FUTURE_DUE = (_TODAY + datetime.timedelta(days=180)).isoformat()  # not yet due

SEF_2025 = {"framework": "ofsted_2025", "safeguarding": "met", "areas": {
    "achievement": {"grade": "needs_attention", "strengths": "Phonics.",
                    "areas_for_development": "Writing at KS2.", "evidence": "KS2 outcomes."},
    "leadership_and_governance": {"grade": "strong_standard", "strengths": "Clear vision.",
                                  "areas_for_development": "Middle leaders.", "evidence": "Visits."}}}
SEF_2019 = {"framework": "ofsted_2019", "areas": {
    "quality_of_education": {"grade": "requires_improvement", "strengths": "Reading.",
                             "areas_for_development": "Maths fluency.", "evidence": "Books."}}}
ROW = {"action": "Weekly modelling", "quantitative": "+8 points", "qualitative": "Confident writers"}
SIP = {"key_drivers": ["Secure significant progress for ALL pupils, including SEND and PP"],
       "priorities": [{
           "ref": "P1", "title": "Extended writing across the curriculum",
           "area_of_practice": "Quality of teaching: writing", "themes": ["writing", "cpd"],
           "ranking": 1, "identified_by": "SLT and governors from KS2 outcomes",
           "start_date": "2025-09-01", "final_review_date": "2026-07-15",
           "lead": {"name": "J. Patel", "role": "English lead"}, "head_role": "facilitator",
           "team": [{"name": "K. Moss", "role": "Year 6 teacher"}],
           "pupil_groups": {"year_groups": ["5", "6"], "sex": "all", "disadvantaged": True,
                            "send": False, "eal": False, "ethnic_groups": [], "other": ""},
           "benefit": "Modelling and deliberate practice raise writing stamina for all pupils.",
           "governor_approval": {"approved": True, "body": "committee", "committee": "Standards",
                                 "date": "2025-10-02"},
           "costs": {"financial_gbp": 4500, "staff_days": 12, "notes": "Supply cover for CPD"},
           "plan": {k: dict(ROW) for k in ("vision", "self_evaluation", "activity",
                                           "performance_management", "heads_report",
                                           "assessment_and_review")},
           "success_criteria": [{"ref": "SC1", "description": "Y6 writing at expected standard",
                                 "metric": "pct_expected_writing_y6", "baseline": 0.58,
                                 "target": 0.72, "due": FUTURE_DUE, "status": "in_progress"}],
           "milestones": [
               {"ref": "M1", "description": "Writing CPD sessions delivered", "due": PAST_DUE,
                "owner": "J. Patel", "status": "on_track", "evidence": ""},
               {"ref": "M2", "description": "Book scrutiny", "due": "2099-03-27",
                "owner": "Deputy", "status": "not_started", "evidence": ""}]}]}
