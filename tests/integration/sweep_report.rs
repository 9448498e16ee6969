//! `indu sweep report` and `indu view --sweep` through the binary: a tiny real sweep (2
//! learning rates x 2 seeds), then its report (sweep.csv with a header and a line per run,
//! sweep.json with every row, the table on stdout, the four kinds of figure as valid PNGs)
//! and its page (self-contained, the report embedded, a working relative link per run).
use crate::util::{fails, run_ok};

#[test]
fn a_tiny_sweep_reports_every_run_and_draws_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(
        d,
        &[
            "sweep",
            "--task",
            "induction",
            "--grid",
            "seed=0..2",
            "--grid",
            "train.lr=1e-3,2e-3",
            "--steps",
            "20",
            "--set",
            "train.eval_every=10",
            "--set",
            "train.eval_size=32",
            "--set",
            "train.track_every=10",
            "--out",
            "sw",
            "--quiet",
        ],
    );
    let out = run_ok(d, &["sweep", "report", "sw"]);
    let sw = d.join("sw");
    let csv = std::fs::read_to_string(sw.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    for col in [
        "index",
        "name",
        "state",
        "seed",
        "train.lr",
        "final_train_loss",
        "eval_det_acc",
        "steps_to_target",
        "induction_formed_step",
        "score_induction_1.0",
    ] {
        assert!(header.contains(&col), "{col} not in {header:?}");
    }
    for l in &lines[1..] {
        assert_eq!(l.split(',').count(), header.len(), "{l}");
        assert!(l.contains(",done,"), "{l}");
    }
    assert!(
        lines[1].starts_with("0,seed=0/lr=1e-3,done,0,1e-3,20,"),
        "{}",
        lines[1]
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sw.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 4);
    assert_eq!(json["target"]["metric"], "det_acc");
    // The table on stdout, then a line per file.
    assert!(
        out.contains("| name ") && out.contains("seed=1/lr=2e-3"),
        "{out}"
    );
    for png in [
        "metric_vs_lr.png",
        "formation_steps.png",
        "formed_fraction.png",
        "loss_by_setting.png",
    ] {
        let path = sw.join("plots").join(png);
        assert!(
            out.contains(&format!("wrote {}", path.display())) || out.contains(png),
            "{out}"
        );
        let img = image::open(&path).unwrap_or_else(|e| panic!("{png}: {e}"));
        assert!(img.width() > 400 && img.height() > 300, "{png}");
    }
    // Only the non-seed axis gets a figure.
    assert!(!sw.join("plots/metric_vs_seed.png").exists());
    sweep_page(d);
}

/// The JSON block a page embeds.
fn data(html: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" id="indu-data">"#;
    let start = html.find(open).expect("data block") + open.len();
    let len = html[start..].find("</script>").expect("data block closed");
    serde_json::from_str(&html[start..start + len]).expect("the data parses")
}

/// `indu view --sweep` on the sweep `sw` in `d`: the page, and each run's own page.
fn sweep_page(d: &std::path::Path) {
    let out = run_ok(d, &["view", "--sweep", "sw"]);
    let sw = d.join("sw");
    let html = std::fs::read_to_string(sw.join("view.html")).unwrap();
    for banned in ["http://", "https://", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(banned), "the page holds {banned:?}");
    }
    let v = data(&html);
    let rows = v["report"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(v["palette"][0], "#1f77b4");
    assert_eq!(v["report"]["plots"].as_array().unwrap().len(), 1);
    for (row, link) in rows.iter().zip(v["links"].as_array().unwrap()) {
        let name = row["name"].as_str().unwrap();
        assert_eq!(link["href"], format!("{name}/view.html"));
        assert_eq!(link["made"], true);
        assert!(sw.join(name).join("view.html").is_file(), "{name}");
    }
    assert!(out.contains("wrote 4 run pages"), "{out}");
    // Elsewhere, without writing run pages: the links climb back to the sweep.
    std::fs::remove_file(sw.join("seed=1/lr=2e-3/view.html")).unwrap();
    run_ok(
        d,
        &[
            "view",
            "--sweep",
            "sw",
            "--out",
            "pages/s.html",
            "--no-run-pages",
        ],
    );
    let v = data(&std::fs::read_to_string(d.join("pages/s.html")).unwrap());
    assert_eq!(v["links"][0]["href"], "../sw/seed=0/lr=1e-3/view.html");
    assert!(v["links"][3]["href"].is_null());
    let why = v["links"][3]["missing"].as_str().unwrap();
    assert!(why.contains("indu view --run"), "{why}");
    assert!(!sw.join("seed=1/lr=2e-3/view.html").exists());
}

#[test]
fn a_directory_without_a_sweep_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let err = fails(dir.path(), &["sweep", "report", "empty"]);
    assert!(err.contains("holds no sweep"), "{err}");
}
