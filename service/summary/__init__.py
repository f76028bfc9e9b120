"""Cited summaries of reports: key figures, central sentences per section, briefings, comparisons."""
