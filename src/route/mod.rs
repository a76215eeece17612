//! Budgeted routing: which instances go to humans, and the hybrid dataset.
