//! Annotation tools: the routed instances out as tasks, the annotators' labels back in.
//!
//! Routing happens before anyone has labelled anything: the instances
//! [`route`](crate::route) sends to humans must reach annotators, and their
//! labels must come back to be merged with the judge's for the rest (see
//! [`hybrid`](crate::route::hybrid)). This module holds the formats of the
//! annotation tools as pure data transforms, and nothing else:
//!
//! * routed instances → tasks ([`label_studio::Task`]): the pair to label and
//!   the judge's label as a pre-annotation the annotator can accept or change;
//! * a tool's export → one label per instance ([`label_studio::parse_export`]):
//!   several annotations of one task become their majority, skipped
//!   annotations are counted and are not labels, and anything the reader does
//!   not understand is an error naming the task, never a silently lost label.
//!
//! There is no HTTP here: prefroute writes files the tool imports and reads
//! files it exports. Talking to a running Label Studio is the end-to-end
//! test's job (`tests/label_studio_e2e.py`). The labelling config the tasks are
//! made for ships in `assets/label_studio/pairwise.xml` ([`label_studio::CONFIG_XML`]).

pub mod label_studio;
