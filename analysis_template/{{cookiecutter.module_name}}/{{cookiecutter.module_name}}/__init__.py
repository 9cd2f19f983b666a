"""The package of the analysis "{{ cookiecutter.analysis_name }}"."""

__version__ = "0.1.0"
