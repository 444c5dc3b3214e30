//! Isolation: namespaces, id maps, time offsets, cgroup placement and mounts. Each part is a
//! parent-side preparation plus the child-side steps that the spawn plan schedules.

pub mod idmap;
pub mod timens;

pub use idmap::{IdMap, IdMaps, IdRange, SetGroups};
pub use timens::{ClockOffset, TimeOffsets};
