"""Shared code for the 创熟 dashboard: database access, metric layer, charts and exports."""
