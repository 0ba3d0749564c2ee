//! Models: label sets and the multinomial logistic regression.

pub mod labels;
pub(crate) mod lbfgs;
pub mod logistic;
