# Sourced by the bench scripts after their own checks: a work directory
# that is removed at exit, stop for the daemon they started last, a build
# of commit BEFORE, and median. A script that has more to clean up sets
# its own trap after sourcing this, and calls stop in it.
work=$(mktemp -d)
pid=
# stop: stops the daemon whose pid is in pid, if any, and waits for it.
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop; rm -rf "$work"' EXIT

# build_before CMD…: extracts commit BEFORE into $work/before-src and
# runs CMD there (a build whose output goes into $work).
build_before() {
  mkdir "$work/before-src"
  git archive "$BEFORE" | tar -x -C "$work/before-src"
  (cd "$work/before-src" && "$@")
}

# median: the median of the numbers on standard input, one a line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
