"""Check the answers before the project is rendered: names that end up in Python code must be
lowercase identifiers, and free texts must fit into quoted strings."""

import re
import sys

NAMES = {
    "module_name": "{{ cookiecutter.module_name }}",
    "short_name": "{{ cookiecutter.short_name }}",
    "config_name": "{{ cookiecutter.config_name }}",
}
TEXTS = {
    "analysis_name": """{{ cookiecutter.analysis_name }}""",
    "author": """{{ cookiecutter.author }}""",
    "email": """{{ cookiecutter.email }}""",
}

errors = [
    f"{key} '{value}' must be a lowercase Python identifier (letters, digits, underscores, "
    "not starting with a digit)"
    for key, value in NAMES.items()
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", value)
]
errors += [f"{key} '{value}' must not contain quotes or backslashes"
           for key, value in TEXTS.items() if re.search(r"[\"'\\]", value)]
if errors:
    print("ERROR: " + "\nERROR: ".join(errors), file=sys.stderr)
    sys.exit(1)
