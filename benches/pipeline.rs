//! Criterion micro-benchmarks of every pipeline stage, with throughput.
//!
//! Inputs: the project's `data/train.csv` (always present), and AG News from
//! `../shared/datasets/ag_news/train_20k.csv` when it exists (skipped with a message when not).
//! Run with `cargo bench --bench pipeline`; CI only compiles it (`cargo bench --no-run`).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use newsclass::data::{read_path, Column, DataSpec, Dataset};
use newsclass::features::tfidf::TfidfVectorizer;
use newsclass::features::vocabulary::DocFreq;
use newsclass::model::labels::LabelSet;
use newsclass::model::logistic::{fit, Objective};
use newsclass::text::tokenize::{TokenBuffer, Tokenizer, TokenizerParams};
use newsclass::{Pipeline, PipelineParams, ValidPipelineParams};

const AG: &str = "../shared/datasets/ag_news/train_20k.csv";

fn project_data() -> Dataset {
    read_path(Path::new("data/train.csv"), &DataSpec::default())
        .expect("data/train.csv is part of the repository")
}

fn ag_news() -> Option<Dataset> {
    if !Path::new(AG).exists() {
        eprintln!("skipping AG News benchmarks: {AG} not found");
        return None;
    }
    let spec = DataSpec {
        text: vec![Column::Number(2), Column::Number(3)],
        labels: vec![Column::Number(1)],
        has_header: false,
        ..DataSpec::default()
    };
    Some(read_path(Path::new(AG), &spec).expect("AG News parses"))
}

fn ag_params() -> ValidPipelineParams {
    PipelineParams::default()
        .ngram_range(1, 2)
        .min_df(DocFreq::Count(2))
        .sublinear_tf(true)
        .c(10.0)
        .check()
        .expect("valid parameters")
}

fn stages(c: &mut Criterion, name: &str, data: &Dataset, params: &ValidPipelineParams) {
    let n = data.len() as u64;
    let bytes: u64 = data.texts().iter().map(|t| t.len() as u64).sum();
    let tok = Tokenizer::new(TokenizerParams::default());
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("tokenize/fast-path parallel", |b| {
        b.iter(|| black_box(tok.tokenize_all(data.texts())))
    });
    g.bench_function("tokenize/tokenizers pipeline 1 thread", |b| {
        b.iter(|| {
            let mut buf = TokenBuffer::default();
            for t in data.texts() {
                tok.tokenize_reference(t, &mut buf);
                black_box(buf.len());
            }
        })
    });
    g.throughput(Throughput::Elements(n));
    let docs = tok.tokenize_all(data.texts());
    g.bench_function("vocabulary fit + transform", |b| {
        b.iter(|| {
            black_box(
                TfidfVectorizer::fit_transform(&params.vocabulary, &params.tfidf, &docs, |d, b| {
                    b.clone_from(d)
                })
                .unwrap(),
            )
        })
    });
    let (vec, x) =
        TfidfVectorizer::fit_transform(&params.vocabulary, &params.tfidf, &docs, |d, b| {
            b.clone_from(d)
        })
        .unwrap();
    g.bench_function("n-grams + tf-idf transform", |b| {
        b.iter(|| {
            let mut s = Vec::new();
            for d in &docs {
                black_box(vec.transform(d, &mut s));
            }
        })
    });
    let gold = data.heads().next().expect("labeled data").1;
    let labels = LabelSet::from_labels(gold.iter().map(String::as_str));
    let y: Vec<u32> = gold.iter().map(|l| labels.id(l).unwrap() as u32).collect();
    let obj = Objective::new(params.logistic(), &x, &y, labels.len()).unwrap();
    let theta = vec![0.01; obj.n_params()];
    let mut grad = vec![0.0; obj.n_params()];
    let mut scratch = vec![0.0; obj.scratch_len()];
    g.throughput(Throughput::Elements(x.nnz() as u64));
    g.bench_function("loss + gradient (per nonzero)", |b| {
        b.iter(|| black_box(obj.eval(&theta, &mut grad, &mut scratch)))
    });
    g.throughput(Throughput::Elements(n));
    g.bench_function("fit one head", |b| {
        b.iter(|| black_box(fit(params.logistic(), &x, &y, labels.clone(), |_, _| {}).unwrap()))
    });
    let model = Pipeline::fit(params, data).unwrap();
    g.bench_function("predict batched", |b| {
        b.iter(|| black_box(model.predict(data.texts())))
    });
    g.bench_function("predict one sentence per call", |b| {
        b.iter(|| {
            for t in data.texts() {
                black_box(model.predict(std::slice::from_ref(t)));
            }
        })
    });
    let bytes = model.to_bytes();
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("model load", |b| {
        b.iter_batched(
            || bytes.clone(),
            |bytes| black_box(Pipeline::from_bytes(&bytes).unwrap()),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let params = PipelineParams::default().check().unwrap();
    stages(c, "project-data", &project_data(), &params);
    if let Some(ag) = ag_news() {
        stages(c, "ag-news-20k", &ag, &ag_params());
    }
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
