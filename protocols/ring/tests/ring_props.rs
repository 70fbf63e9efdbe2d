//! Ring math as properties: every key has one owner, replicas are distinct physical nodes, owners
//! depend on the member set only, joins move keys only to the joiner and leaves only away from the
//! leaver; balance and moved fractions within tolerance of theory. The pure planted ring bugs are
//! caught here deterministically too.

use faultline_ring::compare_placements;
use faultline_ring::hash::key_hash;
use faultline_ring::placement::{
    reference_owner, AnyPlacement, JumpHash, Modulo, Placement, Rendezvous, RingBugs, VnodeRing,
};
use proptest::prelude::*;

fn members_strategy() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::btree_set(0u32..200, 1..24).prop_map(|s| s.into_iter().collect())
}

fn ring(m: &[u32], bits: u32) -> AnyPlacement {
    AnyPlacement::Ring(VnodeRing::build(m, 16, bits, RingBugs::default()))
}

fn all(m: &[u32], bits: u32) -> Vec<AnyPlacement> {
    vec![
        ring(m, bits),
        AnyPlacement::Rendezvous(Rendezvous::new(m)),
        AnyPlacement::Jump(JumpHash::new(m)),
        AnyPlacement::Modulo(Modulo::new(m)),
    ]
}

fn pref(p: &impl Placement, k: u64, r: usize) -> Vec<u32> {
    let mut out = Vec::new();
    p.preference_list(key_hash(k), r, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn one_owner_and_distinct_replicas(m in members_strategy(), bits in prop_oneof![Just(64u32), Just(12u32)], r in 1usize..5) {
        for p in all(&m, bits) {
            for k in 0..200u64 {
                let list = pref(&p, k, r);
                prop_assert_eq!(list.len(), r.min(m.len()), "{}", p.name());
                prop_assert_eq!(Some(list[0]), p.owner(key_hash(k)), "{}: owner heads the list", p.name());
                let mut d = list.clone();
                d.sort_unstable();
                d.dedup();
                prop_assert_eq!(d.len(), list.len(), "{}: distinct physical nodes {:?}", p.name(), list);
                prop_assert!(list.iter().all(|x| m.contains(x)));
            }
        }
    }

    #[test]
    fn owner_is_a_function_of_the_set(m in members_strategy(), seed in any::<u64>()) {
        // Insert in a shuffled order, incrementally, with 10-bit tokens so points collide.
        let mut order = m.clone();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let fresh = VnodeRing::build(&m, 16, 10, RingBugs::default());
        let mut inc = VnodeRing::new(16, 10, RingBugs::default());
        for &n in &order { inc.add_node(n); }
        prop_assert_eq!(fresh.points(), inc.points());
    }

    #[test]
    fn successor_is_the_first_point_clockwise(m in members_strategy(), t in any::<u64>(), bits in prop_oneof![Just(64u32), Just(8u32)]) {
        let r = VnodeRing::build(&m, 16, bits, RingBugs::default());
        let tok = r.token(t);
        prop_assert_eq!(Some(r.points()[r.successor(tok)].node), reference_owner(r.points(), bits, tok));
    }

    #[test]
    fn join_moves_keys_only_to_the_joiner(m in members_strategy(), x in 200u32..260, r in 1usize..4) {
        let mut with = m.clone();
        with.push(x);
        with.sort_unstable();
        for (a, b) in [(ring(&m, 64), ring(&with, 64)), (AnyPlacement::Rendezvous(Rendezvous::new(&m)), AnyPlacement::Rendezvous(Rendezvous::new(&with)))] {
            for k in 0..300u64 {
                let (before, after) = (pref(&a, k, r), pref(&b, k, r));
                if before[0] != after[0] { prop_assert_eq!(after[0], x, "{}: key {} moved elsewhere", a.name(), k); }
                if !after.contains(&x) { prop_assert_eq!(&before, &after, "{}", a.name()); }
            }
        }
        // Jump hash: minimal movement holds for the owner when the joiner sorts last.
        let (a, b) = (JumpHash::new(&m), JumpHash::new(&with));
        for k in 0..300u64 {
            let (o1, o2) = (a.owner(key_hash(k)), b.owner(key_hash(k)));
            if o1 != o2 { prop_assert_eq!(o2, Some(x)); }
        }
    }

    #[test]
    fn leave_moves_only_the_leavers_keys(m in members_strategy().prop_filter("two or more", |m| m.len() >= 2), i in any::<prop::sample::Index>(), r in 1usize..4) {
        let x = m[i.index(m.len())];
        let without: Vec<u32> = m.iter().copied().filter(|&y| y != x).collect();
        for (a, b) in [(ring(&m, 64), ring(&without, 64)), (AnyPlacement::Rendezvous(Rendezvous::new(&m)), AnyPlacement::Rendezvous(Rendezvous::new(&without)))] {
            for k in 0..300u64 {
                let (before, after) = (pref(&a, k, r), pref(&b, k, r));
                if before[0] != after[0] { prop_assert_eq!(before[0], x, "{}: key {} moved off a stayer", a.name(), k); }
                if !before.contains(&x) { prop_assert_eq!(&before, &after, "{}", a.name()); }
            }
        }
    }
}

#[test]
fn modulo_moves_keys_that_are_not_the_joiners() {
    // The property check catches the `% n` baseline at once.
    let m: Vec<u32> = (0..10).collect();
    let with: Vec<u32> = (0..11).collect();
    let (a, b) = (Modulo::new(&m), Modulo::new(&with));
    let stray = (0..1000u64).filter(|&k| {
        let (o1, o2) = (a.owner(key_hash(k)), b.owner(key_hash(k)));
        o1 != o2 && o2 != Some(10)
    });
    assert!(stray.count() > 500, "most keys move, and not to the joiner");
}

#[test]
fn planted_ring_bugs_break_the_properties() {
    let m: Vec<u32> = (0..10).collect();
    // Wrap-around: a token past the last point must go to the first point.
    let bug = RingBugs { wraparound: true, ..RingBugs::default() };
    let r = VnodeRing::build(&m, 16, 64, bug);
    let t = r.points().last().unwrap().pos + 1;
    assert_ne!(Some(r.points()[r.successor(t)].node), reference_owner(r.points(), 64, t));
    // Next R vnodes: some preference list repeats a host.
    let bug = RingBugs { next_vnodes: true, ..RingBugs::default() };
    let r = AnyPlacement::Ring(VnodeRing::build(&m, 16, 64, bug));
    assert!((0..200u64).any(|k| {
        let mut l = pref(&r, k, 3);
        l.sort_unstable();
        l.windows(2).any(|w| w[0] == w[1])
    }));
    // Position-keyed points: insertion order changes the ring (10-bit tokens collide).
    let bug = RingBugs { collision_overwrite: true, ..RingBugs::default() };
    let asc = VnodeRing::build(&m, 16, 10, bug);
    let rev: Vec<u32> = m.iter().rev().copied().collect();
    assert_ne!(asc.points(), VnodeRing::build(&rev, 16, 10, bug).points());
}

#[test]
fn balance_and_movement_match_theory() {
    let c = compare_placements(40, 128, 200_000, 3);
    assert_eq!(c, compare_placements(40, 128, 200_000, 3), "deterministic");
    let text = c.to_string();
    assert!(text.contains("rendezvous") && text.contains("modulo"), "{text}");
    for s in &c.strategies {
        let near = |x: f64, want: f64, tol: f64| (x - want).abs() <= tol * want;
        match s.name {
            "ring" | "rendezvous" => {
                assert!(near(s.moved_on_join, s.theory_join, 0.35), "{s:?}");
                assert!(near(s.moved_on_leave, s.theory_leave.unwrap(), 0.35), "{s:?}");
                assert_eq!((s.stray_on_join, s.stray_on_leave), (0, 0), "{s:?}");
            }
            "jump" => {
                assert!(near(s.moved_on_join, s.theory_join, 0.35), "{s:?}");
                assert_eq!(s.stray_on_join, 0, "{s:?}");
            }
            _ => {
                assert!(near(s.moved_on_join, s.theory_join, 0.05), "{s:?}");
                assert!(near(s.moved_on_leave, s.theory_leave.unwrap(), 0.1), "{s:?}");
            }
        }
        assert!(near(s.stddev_over_mean, s.theory_stddev_over_mean, 0.5), "{s:?}");
    }
}
