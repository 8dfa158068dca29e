//! The action end to end, one module per flow of the three-branch workflow (issue 8).

mod feature;
