import re

from gdbench.catalog import TORCHVISION_WEIGHTS


rule fetch_weights:
    """ImageNet backbone weights through torchvision's weights API (its URL, the sha256 prefix in
    the file name checked). A file placed there by hand is used as it is, and offline the job
    fails naming the file and where to put it."""
    output:
        "weights/{weights_file}",
    log:
        f"{R}/logs/fetch_weights/{{weights_file}}.log",
    wildcard_constraints:
        weights_file="|".join(re.escape(name) for name in TORCHVISION_WEIGHTS),
    threads: 1
    conda:
        CONDA_ENV
    shell:
        # a failed job's log is printed by snakemake: offline, the user reads where to put the file
        "gdbench stage fetch_weights --file {wildcards.weights_file:q} --out {output:q} > {log:q} 2>&1"
