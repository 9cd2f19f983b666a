#!/usr/bin/env bash
# columnar job bootstrap, sourced by law's job script on the batch node before the branches run.
# It recreates the environment of the shell that submitted the jobs: the software (by default
# the same virtualenv, on a shared file system), the law config, the store and the python path.
# The variables in double braces are filled in when the job files are written.

{{columnar_setup}}
export LAW_CONFIG_FILE="{{law_config_file}}"
export COLUMNAR_STORE="{{columnar_store}}"
export COLUMNAR_WORKFLOW="local"  # the branches of a job run in the job
export PYTHONPATH="{{columnar_pythonpath}}${PYTHONPATH:+:${PYTHONPATH}}"
cd "{{columnar_workdir}}" || return 1
