"""Reports built from MLflow runs, never from ad-hoc files."""
