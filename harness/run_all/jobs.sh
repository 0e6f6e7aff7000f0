# shellcheck shell=bash
# jobs.sh - run_all.sh --jobs FILE: the matrix as a job list, one shell command per
# line, each running ONE cell (`run_all.sh --cell DIR ROUND ROW WORKLOAD`) into the
# shared results folder DIR, in the interleaved order of DIR/plan.txt. GNU parallel
# runs it locally or across hosts, a Slurm job array line by line (see README.md);
# `run_all.sh --summarize DIR` merges the cells afterwards.

# job_lines REPO DIR: the job list on stdout (absolute paths: any host, any cwd)
job_lines() {
    local repo=$1 dir=$2 r row t
    while read -r _ r row t; do
        printf 'cd %q && ./run_all.sh --cell %q %q %q %q\n' "$repo" "$dir" "$r" "$row" "${t##*/}"
    done < "$dir/plan.txt"
}
# write_jobs FILE REPO DIR: the job list into FILE (atomically) and how to run it on stderr
write_jobs() {
    local file=$1 repo=$2 dir=$3 n
    atomic "$file" job_lines "$repo" "$dir"
    n=$(wc -l < "$file")
    cat >&2 <<MSG
run_all.sh: $n jobs in $file, results into $dir. Run them one at a time per machine:
  parallel -j1 --will-cite < $file                                   # here
  parallel -j1 --will-cite --sshloginfile HOSTS < $file              # across hosts (same checkout path, shared $dir)
  sbatch --array=1-$n --exclusive --wrap 'sed -n "\${SLURM_ARRAY_TASK_ID}p" $file | bash'   # Slurm
then merge: ./run_all.sh --summarize $dir
MSG
}
