//! Feature stages: word n-grams, vocabulary, TF-IDF.

pub mod tfidf;
pub mod vocabulary;
