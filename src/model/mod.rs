//! Models: label sets and the multinomial logistic regression.

pub mod labels;
pub mod lbfgs;
pub mod logistic;
