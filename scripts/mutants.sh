#!/bin/sh
# Mutation testing of the protocol logic with cargo-mutants (`cargo install cargo-mutants`),
# each crate's own tests as the test. Checks, ghost state, bug tables, configuration and message
# types are left out: a mutant there changes what is checked, not the protocol.
#
#   scripts/mutants.sh ring              # every mutant of the ring's logic files
#   scripts/mutants.sh raft 0/20         # shard 0 of 20: every twentieth mutant, to sample
#   scripts/mutants.sh all 3/20          # the same shard of every crate
#
# Results go to target/mutants/<crate>/mutants.out (caught.txt, missed.txt, timeout.txt,
# unviable.txt). A mutant costs one incremental build plus the crate's test suite (optimized, as
# `cargo test` builds them here): ring measured about 12 s each on 2 cores after a 106 s baseline
# build, so its 468 mutants take about 1.5 hours. Raft's suite runs 500 seeds of every scenario
# (31 s); here it runs FAULTLINE_TEST_SEEDS of them, 100 unless set (about 20 s a mutant): a mutant
# caught on 100 seeds is caught on 500, so the score is a lower bound, and the survivors are worth
# re-running with FAULTLINE_TEST_SEEDS=500. Sample with shards and say which. Equivalent mutants,
# once judged, go in docs/mutants-equivalent.md.
set -eu
export FAULTLINE_TEST_SEEDS="${FAULTLINE_TEST_SEEDS:-100}"
crate=${1:?usage: scripts/mutants.sh raft|paxos|lock|ring|all [SHARD/N]}
shard=${2:-}
run() {
    name=$1; shift
    out=target/mutants/$name
    mkdir -p "$out"
    set -- -p "faultline-$name" "$@" --output "$out" --timeout-multiplier 3 -j 1
    # Round-robin shards spread the sample over every file (the default slices are contiguous).
    if [ -n "$shard" ]; then set -- "$@" --shard "$shard" --sharding round-robin; fi
    echo "cargo mutants $*"
    cargo mutants "$@" || true   # it exits non-zero when mutants survive; the files say which
}
files() {
    case $1 in
        raft) echo "-f protocols/raft/src/node.rs -f protocols/raft/src/log.rs -f protocols/raft/src/state_machine.rs -f protocols/raft/src/storage.rs" ;;
        paxos) echo "-f protocols/paxos/src/acceptor.rs -f protocols/paxos/src/ballot.rs -f protocols/paxos/src/paxos.rs -f protocols/paxos/src/multipaxos.rs" ;;
        lock) echo "-f protocols/lock/src/server.rs -f protocols/lock/src/client.rs -f protocols/lock/src/cell.rs -f protocols/lock/src/resource.rs" ;;
        ring) echo "-f protocols/ring/src/store.rs -f protocols/ring/src/membership.rs -f protocols/ring/src/placement.rs" ;;
        *) echo "unknown crate $1" >&2; exit 2 ;;
    esac
}
if [ "$crate" = all ]; then
    for c in raft paxos lock ring; do
        # shellcheck disable=SC2046
        run "$c" $(files "$c")
    done
else
    # shellcheck disable=SC2046
    run "$crate" $(files "$crate")
fi
