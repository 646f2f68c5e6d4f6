from bidirag.evaluation.premise_cal import COVERAGES, GAPS, THRESHOLDS, to_markdown


def test_markdown_has_one_row_per_window_and_value_in_each_table():
    row = {"n": 3, "pass_share": {str(t): 0.5 for t in THRESHOLDS},
           "pass_share_max_gap": {str(k): k / 100 for k in GAPS},
           "pass_share_min_coverage": {str(c): c / 8 for c in COVERAGES}}
    res = {"model": "m", "thresholds": list(THRESHOLDS), "gaps": list(GAPS), "coverages": list(COVERAGES),
           "coverage_max_gap": 4, "suggested_max_gap": 4, "windows": {"0": {"true": row}, "1": {"true": row}}}
    md = to_markdown(res)
    assert "| window | threshold | true |" in md and "| 1 | 0.8 | 50.0% (n=3) |" in md
    assert "| 0 | 12 | 12.0% |" in md and "k = 4." in md
    assert "max gap 4 and has at least" in md and "| 1 | 1.0 | 12.5% |" in md
    assert md.count("\n| 1 |") == len(THRESHOLDS) + len(GAPS) + len(COVERAGES)
