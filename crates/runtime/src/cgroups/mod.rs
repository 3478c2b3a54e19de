//! Control groups v1, hybrid and v2 (being written).
