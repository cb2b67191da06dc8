"""Content: YAML files with line numbers -> typed, frozen models -> the validated catalogue."""
