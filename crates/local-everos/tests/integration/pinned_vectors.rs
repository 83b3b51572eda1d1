//! The model's vectors pinned: a fixed set of texts (short, accented, CJK, a paragraph,
//! one past the 256-token cut) must keep the vectors committed in
//! `tests/data/minilm_pinned.jsonl` (written by the encoder before its speed-ups, with
//! `recall_bench -- --vectors`, which agrees with `examples/minilm_reference.py`), to
//! cosine ≥ 0.9999, whether the texts are embedded together (the six short ones as one
//! packed batch with no padding, the long one padded) or each alone; and two long texts
//! padded together come out as they do alone.
//! Any change to the encoder's arithmetic is checked here. FAILS without the model.

use local_everos::embed::{bert::KERNEL_SEQ, cosine, SentenceModel};
use serde_json::Value;

use crate::embeddings::model_dir;

fn pinned() -> Vec<(String, Vec<f32>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/minilm_pinned.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let vector = v["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            (v["text"].as_str().unwrap().to_owned(), vector)
        })
        .collect()
}

#[test]
fn vectors_match_the_pinned_reference_batched_and_alone() {
    let model = SentenceModel::load(&model_dir()).unwrap();
    let pinned = pinned();
    assert_eq!(pinned.len(), 7);
    let texts: Vec<String> = pinned.iter().map(|(t, _)| t.clone()).collect();
    let together = model.embed(&texts).unwrap();
    for (i, (text, want)) in pinned.iter().enumerate() {
        let alone = model.embed(std::slice::from_ref(text)).unwrap().remove(0);
        for (how, got) in [("batched", &together[i]), ("alone", &alone)] {
            assert_eq!(got.len(), want.len());
            let cos = cosine(got, want);
            assert!(
                cos >= 0.9999,
                "{how} {text:?}: cosine {cos} to the pinned vector"
            );
        }
    }
    // The embedding together above packed the texts short enough for it, several of
    // them and of several lengths, into one batch.
    let short: Vec<usize> = texts
        .iter()
        .map(|t| model.token_ids(t).unwrap().len())
        .filter(|&n| n <= KERNEL_SEQ)
        .collect();
    let lengths: std::collections::BTreeSet<&usize> = short.iter().collect();
    assert!(short.len() >= 4 && lengths.len() >= 3, "{short:?}");
    // Two long texts of different lengths: one padded batch, the shorter one's padding
    // masked out (it must come out as it does alone).
    let long = texts.iter().max_by_key(|t| t.len()).unwrap().clone();
    let shorter: String = long.split(' ').take(100).collect::<Vec<_>>().join(" ");
    let (n_long, n_shorter) = (
        model.token_ids(&long).unwrap().len(),
        model.token_ids(&shorter).unwrap().len(),
    );
    assert!(
        n_shorter > KERNEL_SEQ && n_shorter < n_long,
        "{n_shorter} {n_long}"
    );
    let padded = model.embed(&[long.clone(), shorter.clone()]).unwrap();
    let shorter_alone = model
        .embed(std::slice::from_ref(&shorter))
        .unwrap()
        .remove(0);
    let cos = cosine(&padded[1], &shorter_alone);
    assert!(
        cos >= 0.9999,
        "padded batch: cosine {cos} to the text alone"
    );
    let (i_long, _) = pinned
        .iter()
        .enumerate()
        .find(|(_, (t, _))| *t == long)
        .unwrap();
    assert!(cosine(&padded[0], &pinned[i_long].1) >= 0.9999);
    // The published first components of "This is an example sentence".
    let first: Vec<f32> = together[0][..5].to_vec();
    for (got, want) in first
        .iter()
        .zip([0.0677f32, 0.0635, 0.0487, 0.0793, 0.0374])
    {
        assert!((got - want).abs() < 1e-4, "{first:?}");
    }
    // Different texts stay apart (the check cannot pass by returning one vector).
    assert!(cosine(&together[1], &pinned[2].1) < 0.9);
}
