# Sourced, after bench/common.sh, by the scripts that compare this
# checkout with a build of commit BEFORE in alternating pairs
# (bench/smtpcpu.sh, bench/pagecpu.sh).

# pairs N UNIT1 UNIT2: runs "run before" and "run now" (the sourcing
# script's run prints the two figures of one measured run, "X Y") N times
# in turn, and prints every pair and each build's medians with the units.
pairs() {
  local n=$1 u1=$2 u2=$3 dir i b x k
  dir=$(mktemp -d)
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  : >"$dir/before" >"$dir/now"
  for i in $(seq "$n"); do
    b=$(run before) x=$(run now)
    echo "$b" >>"$dir/before"
    echo "$x" >>"$dir/now"
    echo "pair $i: before ${b% *} $u1 ${b#* } $u2; now ${x% *} $u1 ${x#* } $u2"
  done
  for k in before now; do
    echo "$k: median $(cut -d' ' -f1 "$dir/$k" | median) $u1, $(cut -d' ' -f2 "$dir/$k" | median) $u2"
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  rm -rf "$dir"
}
