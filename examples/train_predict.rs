//! In-memory data → fit → classify an article → save → load, with the library alone.
//!
//! Run with `cargo run --release --example train_predict`.

use newsclass::{Dataset, Pipeline, PipelineParams};

fn main() -> newsclass::Result<()> {
    // Your own labeled sentences: one text per row, one label per head.
    let rows = [
        (
            "Artillery pounded the border town overnight.",
            "security",
            "neutral",
        ),
        (
            "The blast killed 14 people at a crowded market.",
            "casualties",
            "neutral",
        ),
        (
            "The foreign ministry accused its neighbour of arming the rebels.",
            "diplomacy",
            "critical",
        ),
        (
            "The two governments agreed to reopen the crossing.",
            "diplomacy",
            "supportive",
        ),
        (
            "Troops were deployed along the frontier after the raid.",
            "security",
            "neutral",
        ),
        (
            "Hospital officials said 30 people were wounded.",
            "casualties",
            "neutral",
        ),
        (
            "The envoy welcomed the ceasefire and pledged more aid.",
            "diplomacy",
            "supportive",
        ),
        (
            "Rebels denied attacking the convoy and blamed the army.",
            "diplomacy",
            "critical",
        ),
    ];
    let data = Dataset::new(rows.iter().map(|r| r.0))?
        .with_head("topic", rows.iter().map(|r| r.1))?
        .with_head("stance", rows.iter().map(|r| r.2))?;

    // Parameters are built, then checked once; only checked parameters can be fitted.
    let params = PipelineParams::default()
        .ngram_range(1, 2)
        .sublinear_tf(true)
        .c(10.0)
        .check()?;
    let model = Pipeline::fit(&params, &data)?;

    let article = "Gunmen attacked an army post near the border. \
                   At least five soldiers were killed, officials said. \
                   The ministry urged the rebels to return to talks.";
    for s in model.classify_article(article) {
        let topic = s
            .prediction
            .head("topic")
            .expect("the model has a topic head");
        let stance = s
            .prediction
            .head("stance")
            .expect("the model has a stance head");
        println!(
            "{:>2} [{}..{}] {:<10} {:.2}  {:<10} {:.2}  {}",
            s.index,
            s.start,
            s.end,
            topic.label(),
            topic.score(),
            stance.label(),
            stance.score(),
            s.text
        );
    }

    // One self-describing file; loading it gives the same predictions.
    let path = std::env::temp_dir().join(format!(
        "newsclass-example-{}.newsclass",
        std::process::id()
    ));
    model.save(&path)?;
    let loaded = Pipeline::load(&path)?;
    assert_eq!(
        loaded.predict(&["Troops shelled the town."]),
        model.predict(&["Troops shelled the town."])
    );
    println!(
        "saved and reloaded {} ({} heads)",
        path.display(),
        loaded.heads().len()
    );
    std::fs::remove_file(&path)?;
    Ok(())
}
