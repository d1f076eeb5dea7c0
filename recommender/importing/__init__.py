"""Importers: pure readers for data-set files, a bulk loader into the database, demo data."""
