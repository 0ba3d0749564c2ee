//! Text stages: sentence splitting and tokenization.

pub mod sentences;
pub mod tokenize;
