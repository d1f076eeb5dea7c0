"""`manage.py import_data` and `manage.py generate_demo`."""
