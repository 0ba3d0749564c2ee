//! Feature stages: word n-grams, character n-grams, vocabulary, TF-IDF.

pub mod chars;
pub mod tfidf;
pub mod vocabulary;
