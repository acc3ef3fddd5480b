# gdbench: the Gate Decorator reproduction DAG.
#   snakemake --cores all --resources gpu=4                      the paper run (configs/config.yaml)
#   snakemake --cores 2 --configfile configs/smoke.yaml          everything on generated data, CPU
# Rules live in workflow/rules/; each calls one `gdbench stage ...` command (gdbench/cli_stage.py).
import sys
from pathlib import Path

from gdbench.config import ConfigError, write_resolved
from gdbench.run_config import resolve_run  # torch-free: a dry run starts in about a second

configfile: "configs/config.yaml"
# `snakemake --report report.html`: its front page says where the paper comparison is
report: "workflow/report/workflow.rst"

# Validate the whole config (schemas with additionalProperties: false) before any job exists:
# a misspelled key stops `snakemake -n` with the key's path and the keys allowed there.
try:
    RUN = resolve_run(config, Path(workflow.basedir) / "configs" / "experiments")
except ConfigError as error:  # a user error: say what is wrong, no traceback
    sys.exit(f"gdbench: invalid config\n{error}")
RUN["results_dir"] = "results"
R = f"results/{RUN['profile']}"
CONFIG_JSON = write_resolved(RUN, f"{R}/config.json")

# On a cluster executor (profiles/slurm) these run where Snakemake runs, not as scheduler jobs:
# a file copy and the tracking store's creation are not worth a queue wait, and downloads need the
# internet that login nodes have and compute nodes often lack.
localrules: all, save_point, init_tracking, prepare_data, fetch_weights

include: "workflow/rules/common.smk"
include: "workflow/rules/prepare_data.smk"
include: "workflow/rules/fetch_weights.smk"
include: "workflow/rules/init_tracking.smk"
include: "workflow/rules/train_baseline.smk"
include: "workflow/rules/prune.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/scratch.smk"
include: "workflow/rules/latency.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        f"{R}/report/report.md",
    default_target: True


onerror:
    # a stopped DAG ends the profile's parent runs FAILED, never leaving them RUNNING
    from gdbench.track import end_parents, run_uri

    try:
        end_parents(run_uri(RUN), list(EXPERIMENTS), RUN["profile"], "FAILED")
    except Exception as error:  # the store may not exist yet (a failure before init_tracking)
        print(f"gdbench: parent runs not ended: {error}", file=sys.stderr)
