//! Property tests of the five task generators: shapes, vocabularies, masks exactly as
//! docs/tasks.md says, determinism, each task's invariant, line and tokenizer round trips, and
//! metrics on perfect and imperfect predictions.
use crate::util::proptest_cases;
use indu::tasks::addition::AdditionConfig;
use indu::tasks::induction::InductionConfig;
use indu::tasks::permutations::{Permutations, PermutationsConfig};
use indu::tasks::repeated::{self, RepeatedConfig};
use indu::tasks::skip_trigrams::SkipTrigramsConfig;
use indu::tasks::{Rows, Split, TaskConfig, TaskSpec};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 8;

fn gen(spec: &TaskSpec, split: Split, seed: u64) -> Rows {
    spec.generate(ROWS, split, &mut ChaCha8Rng::seed_from_u64(seed))
}

fn metric(m: &[(String, f64)], key: &str) -> f64 {
    m.iter()
        .find(|(k, _)| k == key)
        .map(|x| x.1)
        .unwrap_or_else(|| panic!("metric {key} missing from {m:?}"))
}

/// Checks every task shares; `want_mask` gives the expected mask of row `i`.
fn check_common(spec: &TaskSpec, seed: u64, want_mask: impl Fn(&Rows, usize) -> Vec<f32>) {
    let rows = gen(spec, Split::Train, seed);
    let n_ctx = spec.n_ctx();
    assert_eq!(rows.n_ctx, n_ctx);
    assert_eq!(rows.len(), ROWS);
    assert_eq!(rows.tokens.len(), ROWS * n_ctx);
    assert_eq!(rows.targets.len(), ROWS * n_ctx);
    assert_eq!(rows.mask.len(), ROWS * n_ctx);
    assert!(rows.tokens.iter().all(|&t| (t as usize) < spec.d_vocab()));
    // Targets are valid output classes everywhere (counted or not).
    assert!(rows
        .targets
        .iter()
        .all(|&t| (t as usize) < spec.d_vocab_out()));
    for i in 0..ROWS {
        assert_eq!(rows.mask_row(i), want_mask(&rows, i).as_slice(), "row {i}");
    }
    // Determinism, and different seeds give different rows.
    assert_eq!(rows, gen(spec, Split::Train, seed));
    assert_ne!(rows, gen(spec, Split::Train, seed ^ 0x5555));
    // Round trips.
    let tok = spec.tokenizer();
    assert_eq!(tok.d_vocab(), spec.d_vocab());
    let lines = spec.to_lines(&rows);
    for (i, line) in lines.iter().enumerate() {
        let back = spec.from_line(line).unwrap();
        assert_eq!(back.row(0), rows.row(i), "{line}");
        assert_eq!(back.targets_row(0), rows.targets_row(i));
        assert_eq!(back.mask_row(0), rows.mask_row(i));
        assert_eq!(tok.encode(&tok.decode(rows.row(i))).unwrap(), rows.row(i));
    }
    let all = spec.from_lines(lines.iter().map(String::as_str)).unwrap();
    assert_eq!(all, rows);
    // Metrics: perfect predictions give acc 1 and zero loss; one wrong counted prediction
    // lowers acc.
    let loss = vec![0.0f32; rows.tokens.len()];
    let m = spec.metrics(&rows, &loss, &rows.targets);
    assert_eq!(metric(&m, "acc"), 1.0);
    assert_eq!(metric(&m, "loss"), 0.0);
    let counted = rows.mask.iter().filter(|&&x| x > 0.0).count();
    let first = rows.mask.iter().position(|&x| x > 0.0).unwrap();
    let mut pred = rows.targets.clone();
    pred[first] = (pred[first] + 1) % spec.d_vocab_out() as u32;
    let m = spec.metrics(&rows, &loss, &pred);
    let acc = metric(&m, "acc");
    assert!(
        (acc - (counted - 1) as f64 / counted as f64).abs() < 1e-9,
        "{acc}"
    );
}

fn spec(c: TaskConfig, seed: u64) -> TaskSpec {
    c.spec(seed).unwrap()
}

/// Every permutation of `items` in itertools.permutations order (recursive definition).
fn itertools_perms(items: &[u32]) -> Vec<Vec<u32>> {
    if items.is_empty() {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let head = rest.remove(i);
        for mut tail in itertools_perms(&rest) {
            tail.insert(0, head);
            out.push(tail);
        }
    }
    out
}

proptest! {
    #![proptest_config(proptest_cases(12))]

    #[test]
    fn induction(length in 1usize..60, seed in any::<u64>()) {
        let s = spec(TaskConfig::Induction(InductionConfig { length }), seed);
        prop_assert_eq!(s.n_ctx(), length + 1);
        check_common(&s, seed, |r, _| vec![1.0; r.n_ctx]);
        let rows = gen(&s, Split::Test, seed);
        for i in 0..ROWS {
            let row = rows.row(i);
            prop_assert_eq!(row[0], 0);
            prop_assert!(row[1..].iter().all(|&t| (1..=26).contains(&t)));
            prop_assert_eq!(s.is_valid(row), Some(true));
            prop_assert_eq!(rows.targets_row(i)[length], 0);
            prop_assert_eq!(s.to_line(row, &[]).len(), length);
        }
        let zero = vec![0.0f32; rows.tokens.len()];
        let m = s.metrics(&rows, &zero, &rows.targets);
        if length > 26 {
            prop_assert_eq!(metric(&m, "det_acc"), 1.0);
        }
        prop_assert_eq!(metric(&m, "nondet_acc"), 1.0);
    }

    #[test]
    fn permutations(n in 1usize..=5, seed in any::<u64>()) {
        let c = PermutationsConfig { n_symbols: n, test_fraction: 0.2 };
        let p = Permutations::new(&c, seed).unwrap();
        let s = spec(TaskConfig::Permutations(c), seed);
        let fact: usize = (1..=n).product();
        prop_assert_eq!(s.n_ctx(), 2 + fact * (n + 1));
        let n_ctx = s.n_ctx();
        check_common(&s, seed, |_, _| {
            (0..n_ctx).map(|q| if q > n && q + 1 < n_ctx { 1.0 } else { 0.0 }).collect()
        });
        for split in [Split::Train, Split::Test] {
            let rows = gen(&s, split, seed);
            let m = s.metrics(&rows, &vec![0.0; rows.tokens.len()], &rows.targets);
            prop_assert_eq!(metric(&m, "seq_acc"), 1.0);
            for i in 0..ROWS {
                let row = rows.row(i);
                let syms = p.symbols_of(row);
                prop_assert!(syms.windows(2).all(|w| w[0] < w[1]) && syms[0] >= 3);
                prop_assert_eq!(row[2..2 + n].to_vec(), syms.clone());
                let mut want = vec![0, 1];
                let terms: Vec<Vec<u32>> = itertools_perms(&syms);
                want.extend(terms.join(&1u32));
                want.push(2);
                prop_assert_eq!(row, want.as_slice());
                prop_assert_eq!(s.is_valid(row), Some(true));
                prop_assert_eq!(p.is_held_out(&syms), split == Split::Test);
            }
        }
    }

    #[test]
    fn addition(n in 1usize..=12, seed in any::<u64>()) {
        let s = spec(TaskConfig::Addition(AdditionConfig { n_digits: n }), seed);
        prop_assert_eq!((s.n_ctx(), s.d_vocab(), s.d_vocab_out()), (3 * n + 3, 12, 10));
        check_common(&s, seed, |_, _| {
            (0..3 * n + 3).map(|q| if (2 * n + 1..=3 * n + 1).contains(&q) { 1.0 } else { 0.0 }).collect()
        });
        let rows = gen(&s, Split::Train, seed);
        let num = |d: &[u32]| d.iter().fold(0u64, |acc, &x| acc * 10 + u64::from(x));
        for i in 0..ROWS {
            let row = rows.row(i);
            prop_assert_eq!((row[n], row[2 * n + 1]), (10, 11));
            prop_assert_eq!(num(&row[..n]) + num(&row[n + 1..2 * n + 1]), num(&row[2 * n + 2..]));
            prop_assert_eq!(s.is_valid(row), Some(true));
        }
        let m = s.metrics(&rows, &vec![0.0; rows.tokens.len()], &rows.targets);
        prop_assert_eq!(metric(&m, "exact_acc"), 1.0);
        prop_assert_eq!(metric(&m, &format!("digit_loss_{n}")), 0.0);
    }

    #[test]
    fn skip_trigrams(r in 2usize..20, sl in 3usize..50, seed in any::<u64>()) {
        let c = SkipTrigramsConfig { rand_size: r, seq_len: sl };
        let s = spec(TaskConfig::SkipTrigrams(c), seed);
        prop_assert_eq!((s.n_ctx(), s.d_vocab(), s.d_vocab_out()), (sl + 2, 2 * r + 2, r));
        check_common(&s, seed, |_, _| {
            let mut m = vec![0.0; sl + 2];
            m[sl + 1] = 1.0;
            m
        });
        let rows = gen(&s, Split::Train, seed);
        let r = r as u32;
        for i in 0..ROWS {
            let row = rows.row(i);
            prop_assert_eq!((row[0], row[sl + 1]), (0, 1));
            let specials: Vec<u32> = row[1..=sl].iter().copied().filter(|&t| t >= r + 2).collect();
            prop_assert_eq!(specials.len(), 1);
            prop_assert!(row[1..=sl].iter().all(|&t| (2..2 * r + 2).contains(&t)));
            prop_assert_eq!(rows.targets_row(i)[sl + 1], specials[0] - r - 2);
            prop_assert_eq!(s.is_valid(row), None);
        }
    }

    #[test]
    fn repeated(sub in 2usize..8, reps in 2usize..5, extra in 0usize..10,
                v in 8usize..200, seed in any::<u64>()) {
        let seq_len = 1 + reps * (sub + extra) + extra % 3;
        let c = RepeatedConfig { seq_len, subseq_len: sub, num_repeats: reps, d_vocab: v };
        let t = repeated::Repeated::new(&c, 0).unwrap();
        let s = spec(TaskConfig::Repeated(c), seed);
        prop_assert_eq!(s.n_ctx(), seq_len);
        let interval = (seq_len - 1) / reps;
        // Expected mask: one run of sub - 1 ones per copy 1.., starting inside the allowed
        // starts of its interval; the copy there repeats a span of the first interval.
        check_common(&s, seed, |rows, i| {
            let row = rows.row(i);
            let mut m = vec![0.0; seq_len];
            let first: Vec<&[u32]> = (1..=interval + 1 - sub).map(|s0| &row[s0..s0 + sub]).collect();
            for k in 1..reps {
                let lo = 1 + k * interval;
                let st = (lo..=lo + interval - sub)
                    .find(|&st| rows.mask_row(i)[st] > 0.0)
                    .unwrap_or_else(|| panic!("copy {k} has no counted span"));
                assert!(first.contains(&&row[st..st + sub]), "copy {k} repeats nothing");
                m[st..st + sub - 1].iter_mut().for_each(|x| *x = 1.0);
            }
            m
        });
        let rows = gen(&s, Split::Train, seed);
        // Copies 1.. equal copy 0 exactly (at its drawn start, not just some span).
        let (same, starts) = t.generate_with_starts(ROWS, &mut ChaCha8Rng::seed_from_u64(seed));
        prop_assert_eq!(&same, &rows);
        for (i, st) in starts.iter().enumerate() {
            let row = rows.row(i);
            prop_assert_eq!(st.len(), reps);
            let copy0 = &row[st[0]..st[0] + sub];
            for (k, &s0) in st.iter().enumerate() {
                prop_assert!(t.start_range(k).contains(&s0), "copy {} at {}", k, s0);
                prop_assert_eq!(&row[s0..s0 + sub], copy0, "copy {} differs from copy 0", k);
            }
            // Copy 0 is left as drawn: a copy that overwrote another would show as an
            // overlap of spans, which the disjoint intervals rule out.
            for w in st.windows(2) {
                prop_assert!(w[0] + sub <= w[1]);
            }
        }
        for i in 0..ROWS {
            prop_assert_eq!(rows.row(i)[0], 0);
            prop_assert!(rows.row(i)[1..].iter().all(|&x| x >= 1));
            // Predictions in copies 1.. name the next token of the copy, which is also in
            // the earlier copy right after the same token.
            for p in 0..seq_len {
                if rows.mask_row(i)[p] > 0.0 {
                    prop_assert_eq!(rows.targets_row(i)[p], rows.row(i)[p + 1]);
                    prop_assert!(t.copy_of(p).is_some_and(|k| k >= 1));
                }
            }
        }
    }

    #[test]
    fn probe(v in 2usize..300, tt in 1usize..20, k in 1usize..4, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = indu::probe::generate(v, tt, k, 4, &mut rng).unwrap();
        prop_assert_eq!(rows.n_ctx, 1 + tt * k);
        for i in 0..4 {
            let row = rows.row(i);
            prop_assert_eq!(row[0], 0);
            prop_assert!(row[1..].iter().all(|&x| x >= 1 && (x as usize) < v));
            for p in 1..row.len() {
                prop_assert_eq!(row[p], row[1 + (p - 1) % tt]);
                prop_assert_eq!(indu::probe::copy_of(p, tt), Some((p - 1) / tt));
            }
            let mask = rows.mask_row(i);
            prop_assert!(mask[..row.len() - 1].iter().all(|&m| m == 1.0));
            prop_assert_eq!(mask[row.len() - 1], 0.0);
            prop_assert_eq!(&rows.targets_row(i)[..row.len() - 1], &row[1..]);
        }
    }
}

#[test]
fn held_out_split_depends_on_seed() {
    let c = PermutationsConfig::default();
    let (a, b) = (
        Permutations::new(&c, 1).unwrap(),
        Permutations::new(&c, 2).unwrap(),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let rows = a.generate(50, Split::Test, &mut rng);
    let differ = (0..50)
        .filter(|&i| !b.is_held_out(&a.symbols_of(rows.row(i))))
        .count();
    assert!(
        differ > 20,
        "{differ} of 50 held-out sets of seed 1 are not held out by seed 2"
    );
    assert_eq!(a.held_out().count(), (0.2f64 * 557_845.0).round() as u64);
}
