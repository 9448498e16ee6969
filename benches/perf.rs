//! Criterion benchmarks (`cargo bench --bench perf`): one training step per preset, a forward
//! pass with and without capturing every hook, the task generators, and head detection on
//! the repeated-tokens probe. One CPU thread, small sample sizes: a quick A/B tool, not a
//! replacement for `scripts/bench.sh` (which compares against the PyTorch peer).
use candle_core::{DType, Device};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use indu::config::RunConfig;
use indu::data::Batch;
use indu::detect::{score_all, Patterns};
use indu::hooks::{HookPoint, Hooks};
use indu::tasks::{Split, Task};
use indu::train::bench::StepRunner;
use rand::SeedableRng;
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `indu` binary uses, so that timings match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PRESETS: [Task; 5] = [
    Task::Induction,
    Task::SkipTrigrams,
    Task::Permutations,
    Task::Repeated,
    Task::Addition,
];

fn preset(task: Task) -> RunConfig {
    match RunConfig::preset(task, &[]) {
        Ok(c) => c,
        Err(e) => panic!("preset {task}: {e}"),
    }
}

fn train_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("train_step");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for task in PRESETS {
        let cfg = preset(task);
        let mut runner = match StepRunner::new(&cfg, &Device::Cpu) {
            Ok(r) => r,
            Err(e) => panic!("{task}: {e}"),
        };
        for _ in 0..3 {
            runner.step().ok();
        }
        g.bench_function(task.name(), |b| {
            b.iter(|| runner.step().map_err(|e| e.to_string()))
        });
    }
    g.finish();
}

fn forward(c: &mut Criterion) {
    let mut g = c.benchmark_group("forward");
    g.sample_size(20).measurement_time(Duration::from_secs(2));
    for task in [Task::Induction, Task::Repeated] {
        let cfg = preset(task);
        let Ok(runner) = StepRunner::new(&cfg, &Device::Cpu) else {
            panic!("{task}: model")
        };
        let Ok(spec) = cfg.task.spec(cfg.seed) else {
            panic!("{task}: spec")
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let rows = spec.generate(cfg.train.batch_size, Split::Test, &mut rng);
        let Ok(batch) = Batch::from_rows(&rows, &Device::Cpu) else {
            panic!("{task}: batch")
        };
        let model = runner.model();
        g.bench_function(format!("{}/plain", task.name()), |b| {
            b.iter(|| model.forward(black_box(&batch.tokens), None).map(|_| ()))
        });
        g.bench_function(format!("{}/capture_all", task.name()), |b| {
            b.iter(|| {
                let mut hooks = Hooks::capture_all();
                let out = model.forward(black_box(&batch.tokens), Some(&mut hooks));
                black_box(hooks.take_captured().len());
                out.map(|_| ())
            })
        });
    }
    g.finish();
}

fn generators(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate_1000_rows");
    g.sample_size(20).measurement_time(Duration::from_secs(1));
    for task in PRESETS {
        let cfg = preset(task);
        let Ok(spec) = cfg.task.spec(cfg.seed) else {
            panic!("{task}: spec")
        };
        g.bench_function(task.name(), |b| {
            b.iter_batched(
                || rand_chacha::ChaCha8Rng::seed_from_u64(7),
                |mut rng| black_box(spec.generate(1000, Split::Train, &mut rng).len()),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn detect(c: &mut Criterion) {
    let mut g = c.benchmark_group("detect_heads");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    let cfg = preset(Task::Induction);
    let Ok(runner) = StepRunner::new(&cfg, &Device::Cpu) else {
        panic!("induction: model")
    };
    let m = &cfg.model;
    let probe = indu::detect::Probe { t: 10, k: 3 };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let Ok(rows) = indu::probe::generate(m.d_vocab(), probe.t, probe.k, 64, &mut rng) else {
        panic!("probe")
    };
    let Ok(batch) = Batch::from_rows(&rows, &Device::Cpu) else {
        panic!("probe batch")
    };
    let model = runner.model();
    g.bench_function("induction_probe_64", |b| {
        b.iter(|| -> Result<usize, Box<dyn std::error::Error>> {
            let mut hooks = Hooks::capture(&["blocks.*.attn.hook_pattern"]);
            model.forward(&batch.tokens, Some(&mut hooks))?;
            let mut data = Vec::with_capacity(m.n_layers);
            for l in 0..m.n_layers {
                let p = hooks.get(HookPoint::Pattern(l)).ok_or("no pattern")?;
                data.push(p.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?);
            }
            let pats = Patterns::new(m.n_layers, m.n_heads, rows.len(), rows.n_ctx, data)?;
            let scores = score_all(&pats, &rows.tokens, Some(probe))?;
            black_box(&scores);
            Ok(rows.len())
        })
    });
    g.finish();
}

fn one_thread(c: &mut Criterion) {
    indu::device::set_threads(1);
    indu::train::tune_allocator();
    train_step(c);
    forward(c);
    generators(c);
    detect(c);
}

criterion_group!(benches, one_thread);
criterion_main!(benches);
