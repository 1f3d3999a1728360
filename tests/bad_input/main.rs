//! The bad-input suite: every binary, run through its real command line on bad input, must
//! fail with a message naming the file, row, field or flag at fault, never panic, and leave
//! its input files as they were (`kindling_tests::bad_input::fails`). One module a task.

mod collab;
mod model_files;
mod tabular;
mod vision;
