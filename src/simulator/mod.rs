//! The Well-Architected Tool simulator (filled in by the simulator work).
