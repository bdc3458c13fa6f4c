#!/bin/sh
# Swaps the paths of each pair of files or folders given: swap.sh A B [C D ...]. bench/run.sh
# gives it to hyperfine as the step before each timed run, so that every run sees the other
# of two versions of its input and has a real change to commit.
set -eu
while [ $# -ge 2 ]; do
    mv "$1" "$1.swap-tmp"
    mv "$2" "$1"
    mv "$1.swap-tmp" "$2"
    shift 2
done
