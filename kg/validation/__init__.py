"""SHACL validation: of a build before it is published and of partner data, and the reports in four formats."""
