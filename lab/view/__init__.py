"""Showing a campaign to a person: the terminal (console, watch) and the HTML report with its plots."""
